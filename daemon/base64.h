// Standard base64 (RFC 4648, with padding), as in known_hosts lines, docker
// config.json "auth" fields and HTTP Basic credentials.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hephy {

std::string Base64Encode(std::string_view bytes);

// nullopt when `text` is empty, not a multiple of four long, or holds a
// character outside the alphabet.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace hephy
