// The build units of a commit (ARCHITECTURE.md "Build units"): every
// directory holding a build-config.yaml, or, when there is none, the whole
// repository as one unit named after the app if it has a root Dockerfile.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "build/build_config.h"
#include "git/commit_reader.h"

namespace hephy {

inline constexpr char kBuildConfigFile[] = "build-config.yaml";

struct BuildUnit {
  std::string name;    // "tools-kaniko"; the app's name for the implicit unit
  std::string dir;     // its directory in the repository, "" for the root
  BuildConfig config;  // the implicit unit's: the defaults, additional_tags [latest]
  bool implicit = false;

  bool upstream() const { return !config.upstream_repo.empty(); }
  // The context's directory, and the Dockerfile's path, in the repository
  // or, for an upstream unit, in the upstream's tree. "" is the root.
  std::string ContextDir() const;
  std::string DockerfilePath() const;
};

// `path` normalised as a path of a git tree: no "." or "..", no trailing
// '/', and "" for the root.
std::string NormalTreePath(const std::filesystem::path& path);

// Every unit of the commit, in tree order. A build-config.yaml at the root
// makes a unit named after the app. Every problem (each file's, two
// directories giving one unit name, an in-tree context that does not exist)
// is appended to `problems` as "FILE[:LINE]: REASON". No unit and no root
// Dockerfile gives no units and no problem.
std::vector<BuildUnit> FindUnits(const CommitReader& commit, const std::string& app,
                                 std::vector<std::string>& problems);

}  // namespace hephy
