// Case in protocol words (header and field names, URL schemes, host names,
// Dockerfile keywords): ASCII letters only, whatever the locale.
#pragma once

#include <string>
#include <string_view>

namespace hephy {

// `text` with A-Z made a-z; every other byte as it is.
std::string AsciiLower(std::string_view text);

// Whether `a` and `b` are equal but for the case of ASCII letters.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace hephy
