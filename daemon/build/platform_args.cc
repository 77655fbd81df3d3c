#include "build/platform_args.h"

#include <algorithm>
#include <utility>

namespace hephy {

namespace {

// Part `index` of "os/arch[/variant]"; empty when there is none.
std::string PartOf(const std::string& platform, int index) {
  size_t begin = 0;
  for (int i = 0; i < index && begin != std::string::npos; ++i) {
    begin = platform.find('/', begin);
    if (begin != std::string::npos) ++begin;
  }
  if (begin == std::string::npos) return "";
  const auto end = platform.find('/', begin);
  return platform.substr(begin, end == std::string::npos ? end : end - begin);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> PlatformArgValues(const std::string& build,
                                                                   const std::string& target) {
  return {{"BUILDPLATFORM", build},
          {"BUILDOS", PartOf(build, 0)},
          {"BUILDARCH", PartOf(build, 1)},
          {"TARGETPLATFORM", target},
          {"TARGETOS", PartOf(target, 0)},
          {"TARGETARCH", PartOf(target, 1)},
          {"TARGETVARIANT", PartOf(target, 2)}};
}

std::vector<std::string> WithPlatformArgs(std::vector<std::string> args,
                                          const std::set<std::string>& declared,
                                          const std::string& build, const std::string& target) {
  for (const auto& [name, value] : PlatformArgValues(build, target)) {
    // Not `name` in the lambda: clang before 16 cannot capture a structured binding.
    const std::string prefix = name + "=";
    const bool set = std::any_of(args.begin(), args.end(),
                                 [&](const auto& arg) { return arg.starts_with(prefix); });
    if (declared.contains(name) && !set) args.push_back(name + "=" + value);
  }
  return args;
}

}  // namespace hephy
