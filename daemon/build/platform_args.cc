#include "build/platform_args.h"

#include <algorithm>
#include <utility>

namespace hephy {

std::vector<std::string> WithPlatformArgs(std::vector<std::string> args,
                                          const std::set<std::string>& declared,
                                          const std::string& build, const std::string& target) {
  const auto part = [](const std::string& platform, int index) {
    size_t begin = 0;
    for (int i = 0; i < index && begin != std::string::npos; ++i) {
      begin = platform.find('/', begin);
      if (begin != std::string::npos) ++begin;
    }
    if (begin == std::string::npos) return std::string();
    const auto end = platform.find('/', begin);
    return platform.substr(begin, end == std::string::npos ? end : end - begin);
  };
  const std::pair<std::string, std::string> values[] = {
      {"BUILDPLATFORM", build},          {"BUILDOS", part(build, 0)},
      {"BUILDARCH", part(build, 1)},     {"TARGETPLATFORM", target},
      {"TARGETOS", part(target, 0)},     {"TARGETARCH", part(target, 1)},
      {"TARGETVARIANT", part(target, 2)}};
  for (const auto& [name, value] : values) {
    // Not `name` in the lambda: clang before 16 cannot capture a structured binding.
    const std::string prefix = name + "=";
    const bool set = std::any_of(args.begin(), args.end(),
                                 [&](const auto& arg) { return arg.starts_with(prefix); });
    if (declared.contains(name) && !set) args.push_back(name + "=" + value);
  }
  return args;
}

}  // namespace hephy
