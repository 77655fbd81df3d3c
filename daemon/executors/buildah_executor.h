// The embedded executor: `buildah build` then `buildah push`, daemonless, on
// this machine. Each job has its own image storage under its work directory,
// so jobs share no state and leave nothing behind.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "hephy/config.h"
#include "hephy/executor.h"
#include "net/egress_policy.h"

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

class BuildahExecutor : public Executor {
 public:
  // Jobs' work directories are all under `builds_dir`. Jobs with network
  // isolated run on the network `containers_conf` names (BuildNetwork);
  // empty: there is none, and such jobs fail.
  // Each job's RUN steps share one cgroup with `limits` (JobCgroup).
  BuildahExecutor(const BuildahConfig& config, std::filesystem::path builds_dir,
                  std::filesystem::path containers_conf = {}, const BuildLimits& limits = {},
                  BuildahEgress egress = {})
      : config_(config),
        builds_dir_(std::move(builds_dir)),
        containers_conf_(std::move(containers_conf)),
        limits_(limits),
        egress_(std::move(egress)) {}
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
};

// The argv of each step of a buildah job (exposed for tests); RUN steps go
// under `cgroup_parent` when given.
std::vector<std::string> BuildahBuildArgv(const BuildahConfig& config, const PlatformJobSpec& spec,
                                          const std::optional<std::string>& cgroup_parent = {});
std::vector<std::string> BuildahPushArgv(const BuildahConfig& config, const PlatformJobSpec& spec);

}  // namespace hephy
