// The key the embedded registry's tokens are signed with: RSA 2048, kept in
// data_dir (registry-token.key, 0600; it never leaves hephyd) beside its
// self-signed certificate (registry-token.crt), which the registry trusts
// (auth.token.rootcertbundle) and every token carries in its x5c header.
#pragma once

#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace hephy {

class TokenSigner {
 public:
  // Loads the key and certificate from `dir`, or makes them when they are
  // missing or the certificate ends within 30 days. Throws Error naming the
  // file when one cannot be read or written, or when the key file can be
  // read by anyone but hephyd's user.
  explicit TokenSigner(const std::filesystem::path& dir);
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  const std::filesystem::path& key_path() const { return key_path_; }
  // PEM: what the registry is told to trust.
  const std::filesystem::path& certificate_path() const { return certificate_path_; }

  // A JSON Web Token "header.claims.signature", each part base64url: RS256,
  // with the certificate in x5c. Thread-safe.
  std::string Sign(const nlohmann::json& claims) const;

 private:
  void Make();
  bool Load();

  const std::filesystem::path key_path_;
  const std::filesystem::path certificate_path_;
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key_;
  std::string certificate_der_;
};

}  // namespace hephy
