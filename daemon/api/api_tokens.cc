#include "api/api_tokens.h"

#include "util/hex.h"

namespace hephy {

std::string NewApiToken() { return std::string(kApiTokenPrefix) + RandomHex(32); }

std::string HashApiToken(std::string_view token) { return Sha256Hex(token); }

bool LooksLikeApiToken(std::string_view text) {
  if (!text.starts_with(kApiTokenPrefix)) return false;
  const std::string_view hex = text.substr(kApiTokenPrefix.size());
  return hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace hephy
