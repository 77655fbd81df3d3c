// Base64 (RFC 4648) for the tests' HTTP stand-ins: Basic credentials, JWTs
// and certificates in JWT headers.
#pragma once

#include <openssl/evp.h>

#include <optional>
#include <string>
#include <string_view>

namespace hephy {

// Standard alphabet, with padding.
inline std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

// URL-safe alphabet without padding, as JWTs are written.
inline std::string Base64UrlEncode(std::string_view bytes) {
  std::string out = Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

// Standard alphabet, padded; nullopt when `text` is not such Base64.
inline std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  out.resize(n - (text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0));
  return out;
}

}  // namespace hephy
