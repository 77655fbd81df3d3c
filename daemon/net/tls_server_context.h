// The TLS side of hephyd's HTTPS listener (http.tls_cert, http.tls_key): an
// OpenSSL server context built from a PEM certificate chain and a PEM private
// key, with modern TLS only, that SIGHUP can replace while connections run.
//
// What a client may negotiate: TLS 1.3, or TLS 1.2 with ECDHE key exchange
// and an AEAD cipher (AES-GCM, ChaCha20-Poly1305); no compression, no
// renegotiation, the server's cipher order; ALPN "http/1.1" when offered.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

namespace hephy {

// Facts about the leaf certificate a context serves, for the log.
struct ServedCertificate {
  std::string subject;  // one line, e.g. "CN=build.example.com"
  std::string serial;   // upper-case hex, e.g. "1A2B"
  std::chrono::system_clock::time_point not_after;
  // Past its notAfter when loaded: served anyway (the admin may be about to
  // replace it), but worth a warning.
  bool expired = false;
};

class TlsServerContext {
 public:
  // Loads both files. Throws Error naming the file and the reason: missing
  // or unreadable, not PEM, an encrypted key, or a key that does not belong
  // to the certificate (then naming both files).
  TlsServerContext(std::filesystem::path cert_file, std::filesystem::path key_file);
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // Rereads both files into a new context, which Current() returns from then
  // on. On failure throws as the constructor does, and the context in use
  // stays. Connections keep the context they started with.
  void Reload();

  // The context for a new connection: hold it for the connection's life.
  // Thread-safe, as is Reload().
  std::shared_ptr<boost::asio::ssl::context> Current() const;
  // The certificate Current() serves.
  ServedCertificate Certificate() const;

  const std::filesystem::path& cert_file() const { return cert_file_; }
  const std::filesystem::path& key_file() const { return key_file_; }

 private:
  const std::filesystem::path cert_file_;
  const std::filesystem::path key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  ServedCertificate certificate_;
};

// Builds a server context from the two files, as TlsServerContext does, and
// describes its certificate in `served` when not null.
std::shared_ptr<boost::asio::ssl::context> MakeTlsServerContext(
    const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
    ServedCertificate* served = nullptr);

}  // namespace hephy
