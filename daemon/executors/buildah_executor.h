// The embedded executor: `buildah build` then `buildah push`, daemonless, on
// this machine. A job with a layer cache (PlatformJobSpec::cache) builds in
// its app's, unit's and platform's storage of the LayerCache, one job at a
// time; any other job in a storage of its own under its work directory,
// which it leaves nothing in.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "executors/layer_cache.h"
#include "hephy/config.h"
#include "hephy/executor.h"
#include "net/egress_policy.h"
#include "util/thread_group.h"

namespace hephy {

// One push at a time to each registry repository. docker-registry loses a
// blob when two uploads of it to one repository overlap: the manifest PUT
// then fails with "blob unknown to registry". Platforms of a build (and
// units of a push) often share layers; one at a time, the later push finds
// the blob there and skips it.
class PushLocks {
 public:
  // The lock of "host[:port]/repository"; thread-safe, stable for the
  // object's life.
  std::timed_mutex& For(const std::string& repository);

 private:
  std::mutex mutex_;
  std::map<std::string, std::timed_mutex> locks_;
};

// Where a job's buildah fetches (a Dockerfile's FROM images, its ADD URLs):
// through an EgressProxy of the job's with `policy`, but for `direct_hosts`
// (NO_PROXY: the registry, hephyd's token service). A job whose RUN steps
// have the host's network fetches directly: its Dockerfile reaches every
// address anyway.
struct BuildahEgress {
  EgressPolicy policy = EgressPolicy();
  std::vector<std::string> direct_hosts;
};

// The layer cache of jobs that ask for one: where (empty: none, such jobs
// build without), and how big it may grow.
struct BuildahCacheOptions {
  std::filesystem::path dir;
  uint64_t max_bytes = 0;
};

// Where a job's buildah keeps its images, and whether it reuses them.
struct BuildahStorage {
  std::filesystem::path root;     // --root
  std::filesystem::path runroot;  // --runroot
  bool layers = false;            // a layer cache: --layers, else --layers=false
  bool refresh = false;           // with layers: reuse no step (--no-cache)
  std::chrono::seconds ttl{0};    // with layers: --cache-ttl; 0: none
};

// A job's own storage under its work directory, without a cache.
BuildahStorage ScratchStorage(const PlatformJobSpec& spec);

class BuildahExecutor : public Executor {
 public:
  // Jobs' work directories are all under `builds_dir`. Jobs with network
  // isolated run on the network `containers_conf` names (BuildNetwork);
  // empty: there is none, and such jobs fail.
  // Each job's RUN steps share one cgroup with `limits` (JobCgroup).
  BuildahExecutor(const BuildahConfig& config, std::filesystem::path builds_dir,
                  std::filesystem::path containers_conf = {}, const BuildLimits& limits = {},
                  BuildahEgress egress = {}, const BuildahCacheOptions& cache = {});
  ~BuildahExecutor() override;
  std::unique_ptr<PlatformJob> Prepare(const PlatformJobSpec& spec) override;
  // Kills the process group of every process whose arguments name a path
  // under builds_dir: buildah, and what its RUN steps started.
  int StopOrphans() override;

 private:
  BuildahConfig config_;
  std::filesystem::path builds_dir_;
  std::filesystem::path containers_conf_;
  BuildLimits limits_;
  BuildahEgress egress_;
  PushLocks push_locks_;
  std::unique_ptr<LayerCache> cache_;  // null: none
  // Each job with a cache leaves its entry tidied and released here, after
  // it has returned; waited for on destruction.
  ThreadGroup tidying_;
};

// The argv of each step of a buildah job (exposed for tests): the build
// writes its image's ID to the work directory's "image-id", and the push
// pushes that image (`image_id`). RUN steps go under `cgroup_parent` when
// given.
std::vector<std::string> BuildahBuildArgv(const BuildahConfig& config, const PlatformJobSpec& spec,
                                          const BuildahStorage& storage,
                                          const std::optional<std::string>& cgroup_parent = {});
std::vector<std::string> BuildahPushArgv(const BuildahConfig& config, const PlatformJobSpec& spec,
                                         const BuildahStorage& storage,
                                         const std::string& image_id);

}  // namespace hephy
