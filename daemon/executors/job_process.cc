#include "executors/job_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "hephy/error.h"
#include "util/line_splitter.h"

namespace hephy {
namespace {

// How often a job waiting for a lock looks whether it was cancelled.
constexpr std::chrono::milliseconds kLockPoll{100};

PlatformJobResult Ended(PlatformJobResult::Outcome outcome) {
  PlatformJobResult result;
  result.outcome = outcome;
  result.error = outcome == PlatformJobResult::Outcome::kCancelled ? "cancelled"
                                                                   : "timed out (builder.timeout)";
  return result;
}

// Kills the job and returns once nothing of it runs. In a namespace of its
// own, unshare's child, the namespace's first process, is killed: the kernel
// then kills the rest of the namespace, and unshare exits only once all of
// it is gone. Before unshare has forked, or in hephyd's namespace, the
// process group is killed.
void Stop(Child& child, JobPidNamespace pid_namespace) {
  bool killed = false;
  if (pid_namespace == JobPidNamespace::kOwn) {
    const std::string pid = std::to_string(child.pid());
    std::ifstream children("/proc/" + pid + "/task/" + pid + "/children");
    pid_t first = 0;
    while (children >> first) killed = ::kill(first, SIGKILL) == 0 || killed;
  }
  if (!killed) child.KillGroup(SIGKILL);
  child.Wait();
}

// `options` with its program run by unshare, in a PID namespace of its own.
SpawnOptions InPidNamespaceOfItsOwn(SpawnOptions options) {
  options.argv.insert(options.argv.begin(),
                      {"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--"});
  return options;
}

}  // namespace

JobCancel::JobCancel() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_) throw Error("eventfd: " + std::string(std::strerror(errno)));
}

void JobCancel::Cancel() {
  const uint64_t one = 1;
  [[maybe_unused]] const auto n = write(fd_.get(), &one, sizeof one);
}

bool JobCancel::Cancelled() const {
  pollfd fd{fd_.get(), POLLIN, 0};
  return poll(&fd, 1, 0) > 0;
}

PlatformJobResult RunJobProcess(const SpawnOptions& options,
                                std::chrono::steady_clock::time_point deadline,
                                const JobCancel& cancel,
                                const std::function<void(std::string_view)>& on_line,
                                JobPidNamespace pid_namespace) {
  if (cancel.Cancelled()) return Ended(PlatformJobResult::Outcome::kCancelled);
  SpawnOptions merged =
      pid_namespace == JobPidNamespace::kOwn ? InPidNamespaceOfItsOwn(options) : options;
  merged.pipe_stdout = true;
  merged.stderr_to_stdout = true;
  Child child = Spawn(merged);
  LineSplitter lines(on_line);
  while (child.stdout_fd()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      Stop(child, pid_namespace);
      return Ended(PlatformJobResult::Outcome::kTimedOut);
    }
    pollfd fds[2] = {{child.stdout_fd().get(), POLLIN, 0}, {cancel.fd(), POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(std::min<long>(left.count(), 60'000))) < 0 &&
        errno != EINTR) {
      throw Error("poll: " + std::string(std::strerror(errno)));
    }
    if (fds[1].revents != 0) {
      Stop(child, pid_namespace);
      return Ended(PlatformJobResult::Outcome::kCancelled);
    }
    if (fds[0].revents == 0) continue;
    char buffer[16384];
    const ssize_t n = read(child.stdout_fd().get(), buffer, sizeof buffer);
    if (n > 0) {
      lines.Feed(std::string_view(buffer, n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      child.stdout_fd().Reset();
    }
  }
  lines.Finish();
  PlatformJobResult result;
  result.exit_code = child.Wait();
  result.outcome = *result.exit_code == 0 ? PlatformJobResult::Outcome::kSucceeded
                                          : PlatformJobResult::Outcome::kFailed;
  return result;
}

std::optional<PlatformJobResult> WaitForTurn(std::unique_lock<std::timed_mutex>& lock,
                                             std::chrono::steady_clock::time_point deadline,
                                             const JobCancel& cancel) {
  while (!lock.try_lock_for(kLockPoll)) {
    if (cancel.Cancelled()) return Ended(PlatformJobResult::Outcome::kCancelled);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Ended(PlatformJobResult::Outcome::kTimedOut);
    }
  }
  return std::nullopt;
}

}  // namespace hephy
