// Retention at work: `hephyd prune` and serve's daily run (daily_prune.h)
// remove what config retention: lets go (the rules: build/retention.h):
//   - build records older than builds_days beyond each app's builds_keep
//     newest, with their logs (logs/<id>/), never a queued or running one;
//   - scratch directories (builds/<id>/) that no queued or running build
//     owns, and log directories of builds that are no longer recorded;
//   - dated images beyond each unit's images_keep newest: their index, its
//     per-architecture manifests and tags, through the registry API, never
//     a manifest another tag (latest, a version) still names;
//   - then, for the embedded registry, the blobs nothing references any
//     more (EmbeddedRegistry::CollectGarbage), with builds held off.
// It runs inside `hephyd serve`, which holds the embedded registry's
// credentials and process; the CLI asks it over the hook socket.
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>

#include "build/build_runner.h"
#include "build/build_scheduler.h"
#include "git/push_request.h"
#include "hephy/config.h"

namespace hephy {

class EmbeddedRegistry;
class RegistryTokenAuthority;

struct PruneReport {
  bool dry_run = false;
  int builds = 0;
  uint64_t log_bytes = 0;  // of the logs deleted with builds, and orphaned logs
  int scratch_dirs = 0;
  uint64_t scratch_bytes = 0;
  int images = 0;
  int manifests = 0;
  bool collected = false;       // the embedded registry's garbage collection ran
  uint64_t registry_bytes = 0;  // what it freed
  int problems = 0;             // things that could not be removed (said in lines)

  // "3 builds (12 KiB of logs), 1 scratch directory (3.1 MiB), 2 images (6
  // manifests), registry storage 12.0 MiB"; with "would prune" for a dry run.
  std::string Summary() const;
  nlohmann::json ToJson() const;
};

class Pruner {
 public:
  // `tokens` and `registry` are the embedded registry's (both null for an
  // external one, whose credentials come from registry.docker_config).
  // Builds are held off `scheduler` during a garbage collection.
  Pruner(const Config& config, BuildScheduler& scheduler, const RegistryTokenAuthority* tokens,
         EmbeddedRegistry* registry);

  // Prunes once, saying one line per thing removed (or, with `dry_run`,
  // that would be) and a summary. A thing that cannot be removed is said
  // and counted in problems; a registry that refuses deletes is said, its
  // images left, and the rest goes on. Unless `dry_run`, writes the audit
  // row "prune" with `actor` and `remote`. One prune at a time: a second
  // waits for the first. Ends early, with what was done, when `stop` fires.
  PruneReport Run(bool dry_run, const std::string& actor, const std::string& remote, const Say& say,
                  std::stop_token stop);

  // `hephyd prune`'s request over the hook socket: trigger "prune", the
  // actor as user, options "dry-run", "json" (the lines and the report as
  // one JSON document instead) and "remote=ADDRESS". Returns the command's
  // exit status: 1 when something could not be removed.
  int Answer(const PushRequest& request, const Say& say, std::stop_token stop);

 private:
  void PruneBuilds(PruneReport& report, const Say& say);
  void PruneScratch(PruneReport& report, const Say& say);
  void PruneImages(PruneReport& report, const Say& say, std::stop_token stop);
  void CollectGarbage(PruneReport& report, const Say& say, std::stop_token stop);

  const Config& config_;
  BuildScheduler& scheduler_;
  const RegistryTokenAuthority* tokens_;
  EmbeddedRegistry* registry_;
  std::mutex running_;
};

}  // namespace hephy
