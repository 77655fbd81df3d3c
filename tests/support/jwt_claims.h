// Reads a JSON Web Token's parts for tests' assertions: its header and
// claims, and whether its RS256 signature verifies with a certificate.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/base64.h"

namespace hephy {

inline std::string Base64UrlDecode(std::string text) {
  std::replace(text.begin(), text.end(), '-', '+');
  std::replace(text.begin(), text.end(), '_', '/');
  while (text.size() % 4 != 0) text += '=';
  const auto bytes = Base64Decode(text);
  if (!bytes) throw std::runtime_error("not base64url: " + text);
  return *bytes;
}

// "header.claims.signature" split in three; throws for any other shape.
inline std::vector<std::string> JwtParts(const std::string& jwt) {
  const auto first = jwt.find('.');
  const auto second = jwt.find('.', first + 1);
  if (first == std::string::npos || second == std::string::npos ||
      jwt.find('.', second + 1) != std::string::npos) {
    throw std::runtime_error("not a JWT: " + jwt);
  }
  return {jwt.substr(0, first), jwt.substr(first + 1, second - first - 1), jwt.substr(second + 1)};
}

inline nlohmann::json JwtHeader(const std::string& jwt) {
  return nlohmann::json::parse(Base64UrlDecode(JwtParts(jwt)[0]));
}

inline nlohmann::json JwtClaims(const std::string& jwt) {
  return nlohmann::json::parse(Base64UrlDecode(JwtParts(jwt)[1]));
}

// Whether the signature is RS256 by the key of the certificate in `pem`.
inline bool JwtVerifies(const std::string& jwt, const std::filesystem::path& pem) {
  const auto parts = JwtParts(jwt);
  const std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(pem.c_str(), "r"), std::fclose);
  const std::unique_ptr<X509, void (*)(X509*)> certificate(
      file ? PEM_read_X509(file.get(), nullptr, nullptr, nullptr) : nullptr, X509_free);
  if (!certificate) throw std::runtime_error("cannot read " + pem.string());
  const std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(X509_get_pubkey(certificate.get()),
                                                           EVP_PKEY_free);
  const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(),
                                                                   EVP_MD_CTX_free);
  const std::string input = parts[0] + "." + parts[1];
  const std::string signature = Base64UrlDecode(parts[2]);
  return EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

}  // namespace hephy
