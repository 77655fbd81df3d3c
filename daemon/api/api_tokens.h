// API tokens of the HTTP API: "hephy_" and 64 hex digits, made of 32 bytes
// from OpenSSL's CSPRNG. A token is shown once, when made; the store keeps
// only its SHA-256, so a copy of the database lets nobody in.
#pragma once

#include <string>
#include <string_view>

namespace hephy {

inline constexpr std::string_view kApiTokenPrefix = "hephy_";

// A new random token. Throws Error when the random generator fails.
std::string NewApiToken();

// What the store keeps of a token: the lower-case hex SHA-256 of its whole
// text, prefix included.
std::string HashApiToken(std::string_view token);

// Whether `text` has the form of a token (the prefix and 64 lower-case hex
// digits). Anything else is refused without a look at the database.
bool LooksLikeApiToken(std::string_view text);

}  // namespace hephy
