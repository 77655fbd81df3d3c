// Plans what a branch update (or a rebuild) of an app builds: its units
// (build_units.h), which of them changed or were asked for, the upstream
// commits they build from, the order they build in, and for each one the
// context, Dockerfile, build args, platforms and tags. Nothing builds until
// the whole plan is free of problems, so that a push hears about every
// mistake at once.
#pragma once

#include <filesystem>
#include <map>
#include <stop_token>
#include <string>
#include <vector>

#include "build/build_runner.h"
#include "build/push_options.h"
#include "hephy/config.h"
#include "upstream/upstream_cache.h"

namespace hephy {

inline constexpr char kRebuildListFile[] = "rebuild-weekly.txt";

struct PlanRequest {
  enum class Select {
    kChanged,  // units changed since old_sha (all on a new branch), plus options.rebuild_*
    kAll,      // every unit
    kNamed,    // `units`
    kListed,   // the units listed in rebuild-weekly.txt
  };
  std::filesystem::path repo;              // the app's bare repository
  std::map<std::string, std::string> env;  // the hook's quarantine, for a push
  Select select = Select::kChanged;
  std::vector<std::string> units;  // for kNamed
  PushOptions options;
  // The record's fields every build of the plan shares: app, ref, old_sha,
  // new_sha, pusher, key_fingerprint, push_id and triggered_by.
  NewBuild build;
};

struct Plan {
  std::vector<BuildPlan> builds;      // in an order where dependencies come first
  std::vector<std::string> problems;  // not empty: nothing may build
};

class BuildPlanner {
 public:
  BuildPlanner(const Config& config, UpstreamCache& upstreams)
      : config_(config), upstreams_(upstreams) {}

  // Tells the pusher what it decided and fetches upstreams as it goes
  // (`say`). A selected unit whose platforms -o platforms= leaves none of is
  // skipped, and said so. Units that depend on a selected unit are selected
  // too, so an image never lags behind the image it is built from. Throws
  // Error only when the repository cannot be read; every problem of the
  // commit's units lands in Plan::problems. A stop request on `cancel` (the
  // pusher went away) stops a fetch in progress.
  Plan Make(const PlanRequest& request, const Say& say, std::stop_token cancel = {}) const;

 private:
  const Config& config_;
  UpstreamCache& upstreams_;
};

}  // namespace hephy
