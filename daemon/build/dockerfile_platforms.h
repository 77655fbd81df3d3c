// What a Dockerfile asks of the platforms it is built on and for: the
// platforms its RUN steps run programs of (a stage written
// FROM --platform=$BUILDPLATFORM runs on the build machine's, the others on
// the target's), and the platform arguments it declares. Pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace hephy {

// The platforms whose programs the RUN steps of `dockerfile` run, each with
// the line of its first RUN, when built for `target` ("linux/arm64") on a
// machine of `build` ("linux/amd64"), up to stage `target_stage` (empty: the
// last). Only the stages that stage needs count (FROM, COPY --from and
// RUN --mount from= of an earlier stage, by name or index), as buildah skips
// the others. A stage's platform is its FROM --platform with the platform
// arguments (PlatformArgValues) expanded, else its base stage's, else
// `target`.
std::map<std::string, size_t> RunPlatforms(std::string_view dockerfile, const std::string& build,
                                           const std::string& target,
                                           const std::string& target_stage = "");

// The names every ARG of `dockerfile` declares, in any stage, and the
// variables its FROM lines use (Docker provides BUILDPLATFORM and the
// TARGET ones there without an ARG; buildah 1.28 only when passed).
std::set<std::string> DeclaredArgs(std::string_view dockerfile);

}  // namespace hephy
