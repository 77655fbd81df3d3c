// What the executors that run programs on this machine (buildah,
// kaniko-local) share: one cancel signal per job, a program run to its end
// with its output streamed line by line, a turn taken on a lock that a
// cancel or the job's deadline can still interrupt, and the private file the
// job's registry credentials go in.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hephy/executor.h"
#include "util/process.h"

namespace hephy {

// Cancel() is called from any thread, once or many times; a job's waits
// watch fd() so that they end at once rather than at their next poll.
class JobCancel {
 public:
  JobCancel();
  void Cancel();
  bool Cancelled() const;
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

// Where a job's processes run. kOwn: as root, in a PID namespace of the
// job's own (unshare --fork, with its own /proc), so that nothing the job
// starts outlives it, not even what left its process group: runc's
// containers and a RUN step's background processes run in sessions of their
// own, and the kernel kills every process of a namespace when its first
// one dies. kShared: hephyd's namespace, where killing the job's process
// group is all there is (where unshare cannot run: not root, or a Kaniko
// image).
enum class JobPidNamespace { kShared, kOwn };

// Runs one program to its end, its stdout and stderr merged into one stream
// of lines handed to `on_line` as they come. It is killed, with all it
// started (see JobPidNamespace), on cancel (kCancelled) or at `deadline`
// (kTimedOut, "timed out (builder.timeout)"), and returns once that is
// done; otherwise kSucceeded or kFailed with its exit code,
// and `error` left for the caller to say. Starts nothing when already
// cancelled.
PlatformJobResult RunJobProcess(const SpawnOptions& options,
                                std::chrono::steady_clock::time_point deadline,
                                const JobCancel& cancel,
                                const std::function<void(std::string_view)>& on_line,
                                JobPidNamespace pid_namespace = JobPidNamespace::kShared);

// Locks `lock` (a std::unique_lock over a std::timed_mutex, not yet owned)
// and returns nullopt; or returns why the job gave up waiting (kCancelled,
// kTimedOut at `deadline`), the lock not taken.
std::optional<PlatformJobResult> WaitForTurn(std::unique_lock<std::timed_mutex>& lock,
                                             std::chrono::steady_clock::time_point deadline,
                                             const JobCancel& cancel);

}  // namespace hephy
