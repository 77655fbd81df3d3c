#include "net/tls_server_context.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hephy/error.h"
#include "util/process.h"

namespace hephy {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" TLS 1.2 list: ECDHE for forward secrecy, AEAD
// only (no CBC, whose padding checks were the Lucky 13 and POODLE attacks).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3's own suites are all AEAD; named so that a system-wide OpenSSL
// configuration cannot add others.
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// OpenSSL's reason for the last error on this thread's queue ("no start
// line"), or `fallback`; the queue is left empty.
std::string OpenSslReason(const char* fallback) {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : fallback;
}

// The whole of `path`; throws Error "WHAT PATH: REASON".
std::string ReadPem(const std::string& what, const std::filesystem::path& path) {
  const auto fail = [&](int error) {
    return Error(what + " " + path.string() + ": " +
                 (error == ENOENT ? std::string("no such file") : std::strerror(error)));
  };
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw fail(errno);
  std::string text;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(errno);
    if (n == 0) return text;
    // A PEM chain is a few KiB: anything this large is the wrong file.
    if (text.size() + static_cast<size_t>(n) > 1024 * 1024) {
      throw Error(what + " " + path.string() + ": larger than 1 MiB, not a PEM file");
    }
    text.append(buffer, static_cast<size_t>(n));
  }
}

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Never asks for a passphrase: hephyd has no terminal, and a prompt would
// hang the daemon.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string Subject(X509* certificate) {
  BioPtr out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string Serial(X509* certificate) {
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr);
  if (number == nullptr) return "";
  char* hex = BN_bn2hex(number);
  std::string serial = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(number);
  return serial;
}

ServedCertificate Describe(X509* certificate) {
  ServedCertificate served;
  served.subject = Subject(certificate);
  served.serial = Serial(certificate);
  const ASN1_TIME* not_after = X509_get0_notAfter(certificate);
  std::tm tm{};
  if (ASN1_TIME_to_tm(not_after, &tm) == 1) {
    served.not_after = std::chrono::system_clock::from_time_t(timegm(&tm));
  }
  served.expired = X509_cmp_current_time(not_after) < 0;
  return served;
}

// Offers http/1.1 when the client's list holds it; a client that offers
// only other protocols (h2) gets no ALPN answer and may go on with HTTP/1.1.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
               unsigned int in_size, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_size, kHttp11, sizeof kHttp11, in, in_size) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

void Configure(SSL_CTX* native) {
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  uint64_t options =
      SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION;
#ifdef SSL_OP_NO_CLIENT_RENEGOTIATION
  options |= SSL_OP_NO_CLIENT_RENEGOTIATION;
#endif
  SSL_CTX_set_options(native, options);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(native, kGroups) != 1) {
    throw Error("cannot set hephyd's TLS ciphers: " + OpenSslReason("unknown cipher"));
  }
  SSL_CTX_set_alpn_select_cb(native, SelectAlpn, nullptr);
}

}  // namespace

std::shared_ptr<ssl::context> MakeTlsServerContext(const std::filesystem::path& cert_file,
                                                   const std::filesystem::path& key_file,
                                                   ServedCertificate* served) {
  ERR_clear_error();
  const std::string cert_name = "TLS certificate " + cert_file.string();
  const std::string key_name = "TLS key " + key_file.string();

  const std::string cert_text = ReadPem("TLS certificate", cert_file);
  BioPtr cert_bio = MemoryBio(cert_text);
  X509Ptr leaf(PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, NoPassphrase, nullptr));
  if (!leaf) {
    const bool empty = ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE;
    throw Error(cert_name + ": " +
                (empty ? std::string("no PEM certificate in it")
                       : "not a PEM certificate: " + OpenSslReason("unreadable")));
  }
  std::vector<X509Ptr> chain;
  for (;;) {
    X509Ptr next(PEM_read_bio_X509(cert_bio.get(), nullptr, NoPassphrase, nullptr));
    if (next) {
      chain.push_back(std::move(next));
      continue;
    }
    if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) break;  // the end
    throw Error(cert_name + ": certificate " + std::to_string(chain.size() + 2) +
                " of the chain is not valid PEM: " + OpenSslReason("unreadable"));
  }
  ERR_clear_error();

  const std::string key_text = ReadPem("TLS key", key_file);
  BioPtr key_bio = MemoryBio(key_text);
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) {
    const std::string reason = OpenSslReason("unreadable");
    if (key_text.find("ENCRYPTED") != std::string::npos) {
      throw Error(key_name + ": the key is encrypted; hephyd needs it without a passphrase");
    }
    // OpenSSL 3's decoders say "unsupported" of anything they cannot
    // read: the reason only helps when there is a key to read.
    const bool has_key = key_text.find("PRIVATE KEY-----") != std::string::npos;
    throw Error(key_name + ": not a PEM private key" + (has_key ? ": " + reason : std::string()));
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    throw Error(key_name + " does not match the certificate in " + cert_file.string());
  }

  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  Configure(native);
  // The checks of OpenSSL's security level (a 1024-bit RSA key, a SHA-1
  // signature) fail here.
  if (SSL_CTX_use_certificate(native, leaf.get()) != 1) {
    throw Error(cert_name + ": cannot serve it: " + OpenSslReason("refused"));
  }
  for (const X509Ptr& c : chain) {
    if (SSL_CTX_add1_chain_cert(native, c.get()) != 1) {
      throw Error(cert_name + ": cannot serve its chain: " + OpenSslReason("refused"));
    }
  }
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1) {
    throw Error(key_name + ": cannot serve it: " + OpenSslReason("refused"));
  }
  if (served != nullptr) *served = Describe(leaf.get());
  return context;
}

TlsServerContext::TlsServerContext(std::filesystem::path cert_file, std::filesystem::path key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
  context_ = MakeTlsServerContext(cert_file_, key_file_, &certificate_);
}

void TlsServerContext::Reload() {
  ServedCertificate served;
  auto fresh = MakeTlsServerContext(cert_file_, key_file_, &served);
  const std::lock_guard lock(mutex_);
  context_ = std::move(fresh);
  certificate_ = std::move(served);
}

std::shared_ptr<ssl::context> TlsServerContext::Current() const {
  const std::lock_guard lock(mutex_);
  return context_;
}

ServedCertificate TlsServerContext::Certificate() const {
  const std::lock_guard lock(mutex_);
  return certificate_;
}

}  // namespace hephy
