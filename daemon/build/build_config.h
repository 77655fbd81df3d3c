// build-config.yaml (ARCHITECTURE.md "Build units and build-config.yaml"):
// one file per unit directory of a catalog repository, saying what to build
// and how. Parsing collects every problem of a file, each naming the file,
// the line and the reason, so that a push reports them all at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/network_mode.h"

namespace hephy {

struct BuildConfig {
  std::string upstream_repo;                   // empty: build the pushed tree
  std::string upstream_ref;                    // tag, branch or commit; set with upstream_repo
  std::string dockerfile_path = "Dockerfile";  // relative to the context root
  std::string target;                          // multi-stage target; empty: the last stage
  std::string context_path = ".";              // relative to the unit dir (or the upstream root)
  std::vector<std::string> build_args;         // "KEY=value"
  std::vector<std::string> platforms;          // empty: builder.platforms
  std::vector<std::string> additional_tags;    // each pushed as "{unit}-{tag}"
  std::vector<std::string> depends_on;         // other units of the same repository
  // Stricter than builder.network, or nullopt for builder.network itself.
  std::optional<NetworkMode> network;
};

// Parses the text of `file` (its path in the repository, for messages) for
// unit `unit`. Every problem is appended to `problems` as
// "FILE:LINE: KEY: REASON"; the returned config holds what was valid.
BuildConfig ParseBuildConfig(std::string_view text, const std::string& file,
                             const std::string& unit, std::vector<std::string>& problems);

// The unit name of a directory of the repository: its path with '/' -> '-'
// ("tools/kaniko" -> "tools-kaniko").
std::string UnitName(std::string_view directory);

// Whether `tag` may be an image tag (OCI distribution spec:
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}).
bool IsValidTag(std::string_view tag);

}  // namespace hephy
