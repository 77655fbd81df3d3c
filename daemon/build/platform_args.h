// The build arguments that say which platform a job builds on and for
// (BUILDPLATFORM, BUILDOS, BUILDARCH, TARGETPLATFORM, TARGETOS, TARGETARCH,
// TARGETVARIANT), which Docker provides to every Dockerfile and buildah
// 1.28 and Kaniko only when passed. Pure function.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace hephy {

// Each platform argument with its value for a job built on `build` for
// `target`, in the order BUILDPLATFORM, BUILDOS, BUILDARCH, TARGETPLATFORM,
// TARGETOS, TARGETARCH, TARGETVARIANT; a part a platform lacks is empty.
std::vector<std::pair<std::string, std::string>> PlatformArgValues(const std::string& build,
                                                                   const std::string& target);

// `args` and, of the platform arguments `declared` names and `args` does not
// set, each with this job's value: `build` and `target` are platforms
// ("linux/amd64", "linux/arm/v7").
std::vector<std::string> WithPlatformArgs(std::vector<std::string> args,
                                          const std::set<std::string>& declared,
                                          const std::string& build, const std::string& target);

}  // namespace hephy
