// kaniko-local: hephyd runs inside a Kaniko image (a CI job) and execs its
// executor (builder.kaniko.executor_path) once per platform job, with the
// seed's flags (kaniko_args.h). The registry credentials reach Kaniko in a
// config.json of the job's own (DOCKER_CONFIG, set for that process only).
#pragma once

#include <filesystem>
#include <mutex>

#include "hephy/config.h"
#include "hephy/executor.h"

namespace hephy {

class KanikoLocalExecutor : public Executor {
 public:
  // Jobs' work directories are all under `builds_dir`.
  KanikoLocalExecutor(const KanikoConfig& config, std::filesystem::path builds_dir)
      : config_(config), builds_dir_(std::move(builds_dir)) {}
  // Thread-safe. Unless builder.kaniko.parallel, the jobs it prepares run
  // one at a time: Kaniko unpacks every base image into the root filesystem
  // of the container it runs in, so two executors in one container overwrite
  // each other's files. A job waiting its turn can be cancelled, and its
  // wait counts against its timeout.
  std::unique_ptr<PlatformJob> Prepare(const PlatformJobSpec& spec) override;
  // Kills the process group of every process whose arguments name a path
  // under builds_dir: executors a crashed hephyd left, and what their RUN
  // steps started.
  int StopOrphans() override;

 private:
  KanikoConfig config_;
  std::filesystem::path builds_dir_;
  std::timed_mutex one_at_a_time_;
};

}  // namespace hephy
