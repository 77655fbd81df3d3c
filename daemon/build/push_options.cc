#include "build/push_options.h"

#include <sstream>

#include "build/build_config.h"
#include "util/names.h"

namespace hephy {
namespace {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

}  // namespace

PushOptions ParsePushOptions(const std::vector<std::string>& options,
                             std::vector<std::string>& problems) {
  PushOptions parsed;
  for (const auto& option : options) {
    const auto problem = [&](const std::string& reason) {
      problems.push_back("push option '" + option + "': " + reason);
    };
    const auto equals = option.find('=');
    const std::string key = option.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : option.substr(equals + 1);
    if (key == "rebuild") {
      const auto units = SplitList(value);
      if (units.empty()) problem("expected rebuild=all or rebuild=UNIT[,UNIT...]");
      for (const auto& unit : units) {
        if (unit == "all") {
          parsed.rebuild_all = true;
        } else if (IsValidTag(unit)) {
          parsed.rebuild_units.push_back(unit);
        } else {
          problem("'" + unit + "' is not a unit name");
        }
      }
    } else if (key == "no-cache") {
      if (equals != std::string::npos) problem("no-cache takes no value");
      parsed.no_cache = true;
    } else if (key == "platforms") {
      const auto platforms = SplitList(value);
      if (platforms.empty()) problem("expected platforms=OS/ARCH[/VARIANT][,...]");
      for (const auto& platform : platforms) {
        if (IsValidPlatform(platform)) {
          parsed.only_platforms.push_back(platform);
        } else {
          problem("invalid platform '" + platform + "' (expected os/arch[/variant])");
        }
      }
    } else if (key == "color" || key == "colour") {
      if (value == "always") {
        parsed.color = ColorMode::kAlways;
      } else if (value == "never") {
        parsed.color = ColorMode::kNever;
      } else if (value == "auto") {
        parsed.color = ColorMode::kAuto;
      } else {
        problem("expected color=always, color=never or color=auto");
      }
    } else {
      parsed.ignored.push_back(option);
    }
  }
  return parsed;
}

}  // namespace hephy
