// Lower-case hexadecimal, for digests and random tokens.
#pragma once

#include <string>
#include <string_view>

namespace hephy {

// Two lower-case hex digits per byte of `bytes`.
std::string HexEncode(std::string_view bytes);

// `bytes` random bytes from OpenSSL's generator, in hex: secrets and
// tokens. Throws Error when the generator fails.
std::string RandomHex(size_t bytes);

// The lower-case hex SHA-256 of `bytes` (64 digits).
std::string Sha256Hex(std::string_view bytes);

}  // namespace hephy
