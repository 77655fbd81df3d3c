#include "util/duration.h"

#include <cctype>

#include "hephy/error.h"

namespace hephy {

std::chrono::seconds ParseDuration(const std::string& text) {
  const auto fail = [&]() -> std::chrono::seconds {
    throw Error("expected a duration such as 90s, 60m or 1h30m, got '" + text + "'");
  };
  long long total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j - i > 9) return fail();
    const long long value = std::stoll(text.substr(i, j - i));
    if (j == text.size()) {  // a bare number means seconds, but only on its own
      if (i != 0) return fail();
      total = value;
      break;
    }
    switch (text[j]) {
      case 'h':
        total += value * 3600;
        break;
      case 'm':
        total += value * 60;
        break;
      case 's':
        total += value;
        break;
      default:
        return fail();
    }
    i = j + 1;
  }
  if (total <= 0) return fail();
  return std::chrono::seconds(total);
}

std::string FormatDuration(std::chrono::seconds duration) {
  const long long total = duration.count();
  if (total <= 0) return "0s";
  std::string text;
  if (total >= 3600) text += std::to_string(total / 3600) + "h";
  if (total % 3600 >= 60) text += std::to_string(total % 3600 / 60) + "m";
  if (total % 60 != 0) text += std::to_string(total % 60) + "s";
  return text;
}

}  // namespace hephy
