// Query strings and form bodies as the tests' stand-in servers read them:
// '+' is a space, %XX a byte, and anything else (a stray '%' included) as it
// is. Lenient on purpose: what hephyd's own server refuses is its business
// (daemon/api/http_api.cc).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace hephy {

inline std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace hephy
