// Runs the builds of one push (or rebuild) of one app: each unit built for
// each of its platforms in parallel by the executor, the per-architecture
// images stitched into one index and tagged, every step recorded in the
// store and streamed to the pusher. Units build concurrently, each after the
// units it depends on.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "build/build_scheduler.h"
#include "hephy/config.h"
#include "hephy/executor.h"
#include "hephy/store.h"
#include "registry/registry_token_authority.h"

namespace hephy {

// Sends one line to the pusher. Thread-safe, never throws.
using Say = std::function<void(const std::string& line)>;

// Where a unit's build context comes from: a directory of a commit of a
// bare repository (the app's, seen through the push's quarantine, or the
// mirror of an upstream).
struct ContextSource {
  std::filesystem::path repo;
  std::map<std::string, std::string> env;  // the hook's quarantine variables, if any
  std::string commit;
  std::string dir;  // "" for the root
};

// One unit to build, as the planner decided.
struct BuildPlan {
  // The record to create. build.unit names the tags; the short commit in
  // them is build.source_sha for an upstream unit, else build.new_sha.
  NewBuild build;
  ContextSource context;
  std::string dockerfile = "Dockerfile";  // relative to the context
  std::string target;
  // "KEY=value", SOURCE_DATE_EPOCH included when the Dockerfile declares it.
  std::vector<std::string> build_args;
  std::vector<std::string> additional_tags;
  NetworkMode network = NetworkMode::kIsolated;  // of its RUN steps
  // Reuse no layer of earlier builds (-o no-cache, `rebuild --no-cache`,
  // scheduled rebuilds); what it builds is still kept for later ones.
  bool no_cache = false;
  // Platforms whose RUN steps this host runs through qemu: the build's
  // header says so, and their jobs take the emulated share of job slots.
  std::set<std::string> emulated;
  // The ARGs its Dockerfile declares: of BUILDPLATFORM, BUILDOS, BUILDARCH
  // and the TARGET ones, each job is passed those (with its values).
  std::set<std::string> declared_args;
  // Units of the same run that must be built first, each with the images
  // of this unit's Dockerfile FROM lines that name it: those are pinned to
  // the digest just built, so the build never pulls a stale image.
  std::map<std::string, std::vector<std::string>> waits_for;
  // Where the built tree can be fetched, for the index's
  // org.opencontainers.image.source when the unit has no upstream; empty:
  // the app's repository on hephyd's SSH server.
  std::string tree_url;
};

class BuildRunner {
 public:
  // With `registry_tokens` (the embedded registry), each build pulls and
  // pushes with credentials made for it (RegistryTokenAuthority::AdmitBuild);
  // without, with registry.docker_config's.
  BuildRunner(const Config& config, Executor& executor, BuildScheduler& scheduler,
              RegistryTokenAuthority* registry_tokens = nullptr)
      : config_(config),
        executor_(executor),
        scheduler_(scheduler),
        registry_tokens_(registry_tokens) {}

  // Builds every plan (all of one app, in dependency order: a plan comes
  // after those it waits for). Returns true when every unit was built,
  // pushed and tagged. The first failure cancels the rest; a stop request on
  // `cancel` (the pusher went away) kills every job and records the builds
  // cancelled. Never throws: failures are told to the pusher and recorded.
  // When it returns false and `failure` is given, *failure says why in one
  // line: the first unit that failed, else the first that did not build
  // ("build 7 (web) failed: linux/arm64: buildah build exited with status 1").
  // With `color`, platform prefixes and how builds ended are in ANSI colours
  // (build/push_output.h). After a successful run, a summary of each image
  // built (where, its tags, how to pull it, its page under
  // http.public_url) ends the output.
  bool Run(const std::vector<BuildPlan>& plans, const Say& say, std::stop_token cancel,
           std::string* failure = nullptr, bool color = false);

  // Stops the run that builds `build_id` as a stop request on Run's
  // `cancel` would, the other units of its push with it, telling the pusher
  // `reason` ("cancelled by alice"). False when no run of this runner builds
  // it. Thread-safe.
  bool Cancel(int64_t build_id, const std::string& reason);

 private:
  std::mutex runs_mutex_;
  // The runs in progress, by each of their builds: what stops them.
  std::map<int64_t, std::function<void(const std::string& reason)>> runs_;
  const Config& config_;
  Executor& executor_;
  BuildScheduler& scheduler_;
  RegistryTokenAuthority* registry_tokens_;
};

}  // namespace hephy
