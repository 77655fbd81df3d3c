#include "build/build_log_reader.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "hephy/error.h"

namespace hephy {
namespace {

using Clock = std::chrono::steady_clock;

// How often a follower reads the build's status from the database. It bounds
// how late the end of a build is noticed, as no file event announces it.
constexpr std::chrono::milliseconds kStatusInterval{500};

// Wakes a follower when a file in one build's log directory is created or
// written. The builder creates the directory when the build starts; until
// then Wait only times out, and tries again to watch it.
class LogDirWatch {
 public:
  explicit LogDirWatch(std::filesystem::path dir)
      : dir_(std::move(dir)), fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (!fd_) throw Error("cannot follow " + dir_.string() + ": inotify: " + std::strerror(errno));
  }

  // Returns when a log file changed, when the directory has just come to be
  // watched, or at `deadline`.
  void Wait(Clock::time_point deadline) {
    if (!watching_) {
      if (inotify_add_watch(fd_.get(), dir_.c_str(), IN_MODIFY | IN_CREATE) >= 0) {
        watching_ = true;
        return;  // lines written before the watch raised no event: read them now
      }
      if (errno != ENOENT) {
        throw Error("cannot follow " + dir_.string() + ": inotify: " + std::strerror(errno));
      }
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd event{fd_.get(), POLLIN, 0};
    if (poll(&event, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) > 0) {
      // The events only say "look again"; which file changed does not matter.
      char buffer[4096];
      while (read(fd_.get(), buffer, sizeof buffer) > 0) {
      }
    }
  }

 private:
  std::filesystem::path dir_;
  UniqueFd fd_;
  bool watching_ = false;
};

std::string Platforms(const Build& build) {
  std::string list;
  for (const auto& job : build.jobs) list += (list.empty() ? "" : ", ") + job.platform;
  return list;
}

}  // namespace

BuildLogReader::BuildLogReader(const Build& build, const std::optional<std::string>& platform)
    : build_id_(build.id) {
  for (const auto& job : build.jobs) {
    if (platform && job.platform != *platform) continue;
    logs_.push_back({job.platform, job.status, "", LogTail(job.log_path)});
  }
  if (logs_.empty()) {
    throw Error("build " + std::to_string(build.id) + " has no job for platform '" +
                platform.value_or("") + "' (its platforms: " + Platforms(build) + ")");
  }
  if (logs_.size() > 1) {
    for (auto& log : logs_) log.prefix = "[" + log.platform + "] ";
  }
}

void BuildLogReader::Pass(const Line& line, bool to_end) {
  for (auto& log : logs_) {
    if (log.prefix.empty()) {
      log.tail.Read(line, to_end);
    } else {
      log.tail.Read([&](std::string_view text) { line(log.prefix + std::string(text)); }, to_end);
    }
  }
}

void BuildLogReader::ReadAll(const Line& line) { Pass(line, true); }

bool BuildLogReader::Follow(Store& store, const Line& line, const std::function<bool()>& flush,
                            std::stop_token stop) {
  // The directory the jobs' logs were recorded in, even if logs_dir moved since.
  LogDirWatch watch(logs_.front().tail.path().parent_path());
  bool finished = false;
  auto next_check = Clock::now() + kStatusInterval;
  for (;;) {
    Pass(line, false);
    if (!flush() || stop.stop_requested()) return false;
    // The builder writes a job's last line before the build is finished, so
    // this last pass after a terminal status has read everything.
    if (finished) break;
    watch.Wait(next_check);
    if (Clock::now() >= next_check) {
      const auto build = store.FindBuild(build_id_);
      if (!build) {
        throw Error("build " + std::to_string(build_id_) + ": no such build (it was removed)");
      }
      finished = IsTerminalBuildStatus(build->status);
      for (auto& log : logs_) {
        for (const auto& job : build->jobs) {
          if (job.platform == log.platform) log.status = job.status;
        }
      }
      next_check = Clock::now() + kStatusInterval;
    }
  }
  Pass(line, true);
  return flush();
}

std::vector<std::string> BuildLogReader::MissingLogs() const {
  std::vector<std::string> notes;
  for (const auto& log : logs_) {
    if (log.tail.found()) continue;
    notes.push_back("no log for " + log.platform + " (job " + log.status +
                    "): " + log.tail.path().string() + " does not exist");
  }
  return notes;
}

}  // namespace hephy
