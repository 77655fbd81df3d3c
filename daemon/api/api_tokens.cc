#include "api/api_tokens.h"

#include <openssl/rand.h>

#include "hephy/error.h"
#include "util/hex.h"

namespace hephy {

std::string NewApiToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw Error("cannot make an API token: the random generator failed");
  }
  return std::string(kApiTokenPrefix) +
         HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string HashApiToken(std::string_view token) { return Sha256Hex(token); }

bool LooksLikeApiToken(std::string_view text) {
  if (!text.starts_with(kApiTokenPrefix)) return false;
  const std::string_view hex = text.substr(kApiTokenPrefix.size());
  return hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace hephy
