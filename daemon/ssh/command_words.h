// The words of a command sent in an SSH exec request, as argv for hephyd's
// own command line: split at spaces, 'single' or "double" quotes keeping
// spaces inside a word (no escapes, no variables, no globbing: no shell).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hephy {

// Throws Error for control characters (tabs, newlines, ...), an unclosed
// quote, or no words at all.
std::vector<std::string> SplitCommandWords(std::string_view command);

}  // namespace hephy
