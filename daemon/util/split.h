// Splitting text on one separator character.
#pragma once

#include <string_view>
#include <vector>

namespace hephy {

// The pieces of `text` between `separator`s, empty ones included: "a,,b"
// gives "a", "", "b"; "" gives one empty piece. Views into `text`.
std::vector<std::string_view> SplitOn(std::string_view text, char separator);

}  // namespace hephy
