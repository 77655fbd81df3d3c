// Standard base64 (RFC 4648 section 4, with '=' padding), as in the "auth"
// field of a docker config.json; and its URL-safe form, as in JSON Web Tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hephy {

// `bytes` in base64, padded to a multiple of four characters.
std::string Base64Encode(std::string_view bytes);

// `bytes` in the URL-safe alphabet ('-' and '_' for '+' and '/'), without
// padding: RFC 4648 section 5, as JSON Web Tokens are written (RFC 7515).
std::string Base64UrlEncode(std::string_view bytes);

// The bytes `text` encodes, or nullopt when it is not padded standard base64
// (wrong length, a character outside the alphabet, '=' before the end).
// Callers report the error: only they can name the input, and the text may
// be a secret that must not be echoed.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace hephy
