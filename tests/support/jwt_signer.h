// Signs JSON Web Tokens (RS256) as a registry's token service does: with an
// RSA key whose self-signed certificate travels in each token's x5c header,
// and which the registry is told to trust (auth.token.rootcertbundle).
// Needs OpenSSL::Crypto and the openssl command.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "util/base64.h"
#include "util/process.h"

namespace hephy {

// URL-safe alphabet without padding, as JWTs are written (RFC 7515).
inline std::string Base64UrlEncode(std::string_view bytes) {
  std::string out = Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

class JwtSigner {
 public:
  // Writes token-signer.key (RSA 2048) and token-signer.crt (self-signed,
  // valid for a day) into `dir`.
  explicit JwtSigner(const std::filesystem::path& dir)
      : certificate_(dir / "token-signer.crt"), key_(nullptr, EVP_PKEY_free) {
    const auto key_path = dir / "token-signer.key";
    const RunResult r =
        Run({.argv = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                      "-subj", "/CN=hephy test token signer", "-keyout", key_path.string(), "-out",
                      certificate_.string()}});
    if (r.exit_code != 0) throw std::runtime_error("openssl req failed: " + r.err);

    const std::unique_ptr<FILE, int (*)(FILE*)> key_file(std::fopen(key_path.c_str(), "r"),
                                                         std::fclose);
    if (key_file) key_.reset(PEM_read_PrivateKey(key_file.get(), nullptr, nullptr, nullptr));
    if (!key_) throw std::runtime_error("cannot read " + key_path.string());

    const std::unique_ptr<FILE, int (*)(FILE*)> cert_file(std::fopen(certificate_.c_str(), "r"),
                                                          std::fclose);
    const std::unique_ptr<X509, void (*)(X509*)> cert(
        cert_file ? PEM_read_X509(cert_file.get(), nullptr, nullptr, nullptr) : nullptr, X509_free);
    unsigned char* der = nullptr;
    const int length = cert ? i2d_X509(cert.get(), &der) : -1;
    if (length <= 0) throw std::runtime_error("cannot read " + certificate_.string());
    certificate_der_.assign(reinterpret_cast<const char*>(der), length);
    OPENSSL_free(der);
  }
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  // The signing key's certificate (PEM): what the registry trusts.
  const std::filesystem::path& certificate() const { return certificate_; }

  // "header.claims.signature", each part base64url: the header names RS256
  // and carries the certificate (x5c, base64 DER); `claims` as given.
  // Thread-safe.
  std::string Sign(const nlohmann::json& claims) const {
    const nlohmann::json header = {
        {"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {Base64Encode(certificate_der_)}}};
    const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
    const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(),
                                                                     EVP_MD_CTX_free);
    size_t length = 0;
    // An RSA key signs with PKCS #1 v1.5 unless told otherwise: RS256.
    if (!context ||
        EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(context.get(), nullptr, &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      throw std::runtime_error("cannot sign a token");
    }
    std::string signature(length, '\0');
    if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      throw std::runtime_error("cannot sign a token");
    }
    signature.resize(length);
    return input + "." + Base64UrlEncode(signature);
  }

 private:
  const std::filesystem::path certificate_;
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key_;
  std::string certificate_der_;
};

}  // namespace hephy
