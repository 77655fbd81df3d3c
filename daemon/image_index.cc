#include "hephy/image_index.h"

#include <regex>

#include "hephy/error.h"

namespace hephy {

Platform ParsePlatform(const std::string& text) {
  static const std::regex kPlatform("([a-z0-9]+)/([a-z0-9_]+)(?:/([a-z0-9]+))?");
  std::smatch match;
  if (!std::regex_match(text, match, kPlatform)) {
    throw Error("invalid platform '" + text +
                "' (expected os/arch[/variant] in lower case, e.g. linux/arm64 or linux/arm/v7)");
  }
  return Platform{match[1], match[2], match[3]};
}

std::string ToString(const Platform& platform) {
  std::string text = platform.os + "/" + platform.architecture;
  if (!platform.variant.empty()) text += "/" + platform.variant;
  return text;
}

}  // namespace hephy
