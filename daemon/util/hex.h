// Lower-case hexadecimal, for digests and random tokens.
#pragma once

#include <string>
#include <string_view>

namespace hephy {

// Two lower-case hex digits per byte of `bytes`.
std::string HexEncode(std::string_view bytes);

// The lower-case hex SHA-256 of `bytes` (64 digits).
std::string Sha256Hex(std::string_view bytes);

}  // namespace hephy
