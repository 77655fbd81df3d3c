// hephyd logs BUILD_ID [--platform P] [--follow]
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ostream>

#include "cli_commands.h"
#include "hephy/error.h"
#include "log_tail.h"

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

// One job's log as printed: its lines, prefixed with "[PLATFORM] " when
// several jobs' lines are printed together, as the pusher saw them live.
struct JobLog {
  std::string platform;
  std::string status;
  std::string prefix;
  LogTail tail;

  void Print(std::ostream& out, bool to_end) {
    tail.Read([&](std::string_view line) { out << prefix << line << '\n'; }, to_end);
  }

  // A missing log is worth a word but is no failure: a job that never started
  // has none, and logs may have been cleaned up.
  void NoteIfMissing(std::ostream& err) const {
    if (tail.found()) return;
    err << "hephyd: note: no log for " << platform << " (job " << status
        << "): " << tail.path().string() << " does not exist\n";
  }
};

std::string Platforms(const Build& build) {
  std::string list;
  for (const auto& job : build.jobs) list += (list.empty() ? "" : ", ") + job.platform;
  return list;
}

// Prints the lines as they are appended to the logs until the build has
// finished and every log is read to its end.
void Follow(int64_t build_id, std::vector<JobLog>& logs, CommandContext& ctx) {
  // The directory the jobs' logs were recorded in, even if logs_dir moved since.
  LogDirWatch watch(logs.front().tail.path().parent_path());
  bool finished = false;
  auto next_check = Clock::now() + kStatusInterval;
  for (;;) {
    for (auto& log : logs) log.Print(ctx.io.out, false);
    ctx.io.out.flush();
    // Standard output is gone (`| head`): nobody is left to follow for.
    if (!ctx.io.out) return;
    // The builder writes a job's last line before the build is finished, so
    // this last pass after a terminal status has read everything.
    if (finished) break;
    watch.Wait(next_check);
    if (Clock::now() >= next_check) {
      const auto build = ctx.store.FindBuild(build_id);
      if (!build) {
        throw Error("build " + std::to_string(build_id) + ": no such build (it was removed)");
      }
      finished = IsTerminalBuildStatus(build->status);
      for (auto& log : logs) {
        for (const auto& job : build->jobs) {
          if (job.platform == log.platform) log.status = job.status;
        }
      }
      next_check = Clock::now() + kStatusInterval;
    }
  }
  for (auto& log : logs) {
    log.Print(ctx.io.out, true);
    log.NoteIfMissing(ctx.io.err);
  }
}

int Logs(CliArgs& args, CommandContext& ctx) {
  const bool follow = args.Flag("--follow") || args.Flag("-f");
  const auto platform = args.Option("--platform");
  const int64_t id = ParsePositive("BUILD_ID", args.Required("BUILD_ID"));
  args.ExpectEnd();
  const auto build = ReadableBuild(ctx, id);

  std::vector<JobLog> logs;
  for (const auto& job : build.jobs) {
    if (platform && job.platform != *platform) continue;
    logs.push_back({job.platform, job.status, "", LogTail(job.log_path)});
  }
  if (logs.empty()) {
    throw Error("build " + std::to_string(id) + " has no job for platform '" +
                platform.value_or("") + "' (its platforms: " + Platforms(build) + ")");
  }
  if (logs.size() > 1) {
    for (auto& log : logs) log.prefix = "[" + log.platform + "] ";
  }

  if (follow && !IsTerminalBuildStatus(build.status)) {
    Follow(id, logs, ctx);
    return 0;
  }
  for (auto& log : logs) {
    log.Print(ctx.io.out, true);
    log.NoteIfMissing(ctx.io.err);
  }
  return 0;
}

}  // namespace

const std::vector<Command>& LogsCommands() {
  static const std::vector<Command> commands = {
      {"logs", "", "logs BUILD_ID [--platform P] [--follow]",
       "Prints the stored logs of build BUILD_ID (see `hephyd builds list`). A\n"
       "build has one log per platform job. With several jobs, each line starts\n"
       "with its platform, `[linux/arm64] STEP 2/5: ...`, as the pusher saw it,\n"
       "and the jobs' logs are printed one after the other. A job without a log\n"
       "file (it never started, or the file was removed) gets a note on standard\n"
       "error. The exit status is 0 whether the build succeeded or not.\n"
       "\n"
       "  --platform P   only the log of platform P (e.g. linux/arm64), its lines\n"
       "                 as the build printed them, without the prefix\n"
       "  -f, --follow   while the build is queued or running, keep printing lines\n"
       "                 as they are written, the jobs' lines interleaved as they\n"
       "                 come, and exit once the build has finished and every line\n"
       "                 is printed. For a finished build, the same as without it.",
       Logs},
  };
  return commands;
}

}  // namespace hephy
