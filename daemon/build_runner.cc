#include "build_runner.h"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "context_export.h"
#include "hephy/build_logs.h"
#include "hephy/error.h"
#include "hephy/image_index.h"
#include "hephy/image_tags.h"
#include "hephy/registry_client.h"
#include "hephy/store.h"
#include "logging.h"

namespace hephy {
namespace {

// How many of a failed job's last lines are shown again at the end, where
// the pusher looks first.
constexpr size_t kTailLines = 10;

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("build");
  return logger;
}

std::string Seconds(std::chrono::steady_clock::duration elapsed) {
  const auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
}

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string BranchOf(const std::string& ref) {
  return ref.starts_with("refs/heads/") ? ref.substr(11) : ref;
}

std::string Dashed(std::string platform) {
  std::replace(platform.begin(), platform.end(), '/', '-');
  return platform;
}

// Where the pushed tree can be fetched from, for the index's
// org.opencontainers.image.source annotation.
std::string SourceUrl(const Config& config, const std::string& app) {
  std::string host = config.ssh.listen.host;
  if (host == "0.0.0.0" || host == "::") {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    host = name;
  }
  ListenAddress address{host, config.ssh.listen.port};
  return "ssh://git@" + address.ToString() + "/" + app + ".git";
}

const char* StatusOf(PlatformJobResult::Outcome outcome) {
  switch (outcome) {
    case PlatformJobResult::Outcome::kSucceeded:
      return "succeeded";
    case PlatformJobResult::Outcome::kCancelled:
      return "cancelled";
    case PlatformJobResult::Outcome::kFailed:
    case PlatformJobResult::Outcome::kTimedOut:
      break;
  }
  return "failed";
}

// One platform of a build, shared between the build's thread and the job's.
struct JobRun {
  BuildJob record;
  std::string arch_tag;
  std::unique_ptr<PlatformJob> job;
  PlatformJobResult result;
  std::deque<std::string> tail;
  std::chrono::steady_clock::duration elapsed{};
};

struct Outcome {
  std::string status = "failed";
  std::string error;
  std::string index_digest;
  std::vector<std::string> tags;
};

class BuildExecution {
 public:
  BuildExecution(const Config& config, Executor& executor, BuildScheduler& scheduler,
                 const BuildPlan& plan, const Build& build, const Say& say)
      : config_(config),
        executor_(executor),
        scheduler_(scheduler),
        plan_(plan),
        build_(build),
        say_(say),
        work_dir_(config.BuildsDir() / std::to_string(build.id)) {}

  ~BuildExecution() {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
    if (ec)
      Log()->warn("build {}: cannot remove {}: {}", build_.id, work_dir_.string(), ec.message());
  }

  Outcome Execute(const QuarantineRepo& repo, std::stop_token cancel) {
    Outcome outcome;
    const auto lease = scheduler_.AcquireApp(build_.app, cancel, [&] {
      say_("hephy: another build of " + build_.app + " is running; build " +
           std::to_string(build_.id) + " waits for it");
    });
    if (!lease) return Cancelled(outcome);

    Store store(config_.DatabasePath());
    store.StartBuild(build_.id);
    say_("hephy: building " + build_.app + " (build " + std::to_string(build_.id) + ", " +
         BranchOf(build_.ref) + " " + build_.new_sha.substr(0, 7) + ") for " +
         Join(plan_.build.platforms, ", "));

    std::filesystem::remove_all(work_dir_);
    std::filesystem::create_directories(work_dir_);
    std::filesystem::create_directories(BuildLogDir(config_.LogsDir(), build_.id));
    const auto context = work_dir_ / "context";
    ExportTree(repo, build_.new_sha, context);

    const auto now = std::chrono::system_clock::now();
    const UnitTags tags = TagsFor(build_.unit, build_.new_sha, now);
    const std::string repository = RepositoryFor(config_.registry.repository, build_.app);
    for (const auto& record : build_.jobs) {
      auto& run = runs_.emplace_back();
      run.record = record;
      run.arch_tag = ArchTag(tags.default_tag, record.platform);
      PlatformJobSpec spec;
      spec.platform = record.platform;
      spec.context_dir = context;
      spec.dockerfile = plan_.dockerfile;
      spec.destination = config_.registry.url + "/" + repository + ":" + run.arch_tag;
      spec.insecure_registry = config_.registry.insecure;
      spec.work_dir = work_dir_ / "jobs" / Dashed(record.platform);
      spec.timeout = config_.builder.timeout;
      spec.concurrent_jobs = static_cast<int>(
          std::min<size_t>(build_.jobs.size(), static_cast<size_t>(config_.builder.max_jobs)));
      std::filesystem::create_directories(spec.work_dir);
      run.job = executor_.Prepare(spec);
    }

    RunJobs(cancel);

    if (cancel.stop_requested()) return Cancelled(outcome);
    for (auto& run : runs_) {
      if (run.result.outcome == PlatformJobResult::Outcome::kSucceeded ||
          run.result.outcome == PlatformJobResult::Outcome::kCancelled) {
        continue;
      }
      const std::string& platform = run.record.platform;
      if (outcome.error.empty()) outcome.error = platform + ": " + run.result.error;
      say_("hephy: [" + platform + "] failed after " + Seconds(run.elapsed) + ": " +
           run.result.error);
      if (!run.tail.empty()) {
        say_("hephy: [" + platform + "] its last lines were:");
        for (const auto& line : run.tail) say_("  [" + platform + "] " + line);
      }
    }
    if (!outcome.error.empty()) return outcome;

    std::vector<std::string> digests;
    for (const auto& run : runs_) digests.push_back(run.result.digest);
    RegistryClient registry(config_.registry.url, config_.registry.insecure);
    const StitchedIndex index =
        StitchIndex(registry, repository, digests,
                    {{"org.opencontainers.image.source", SourceUrl(config_, build_.app)},
                     {"org.opencontainers.image.revision", build_.new_sha},
                     {"org.opencontainers.image.created", Rfc3339(now)}},
                    tags.index_tags);
    outcome.status = "succeeded";
    outcome.index_digest = index.digest;
    outcome.tags = tags.index_tags;
    say_("hephy: image " + config_.registry.url + "/" + repository + "@" + index.digest);
    say_("hephy: tagged " + Join(tags.index_tags, ", "));
    return outcome;
  }

 private:
  static Outcome& Cancelled(Outcome& outcome) {
    outcome.status = "cancelled";
    outcome.error = "the pusher disconnected";
    return outcome;
  }

  // One thread per platform. A job that fails, or the pusher going away,
  // cancels every other job of the build.
  void RunJobs(std::stop_token cancel) {
    std::stop_callback pusher_gone(cancel, [this] { abort_.request_stop(); });
    std::stop_callback kill_jobs(abort_.get_token(), [this] {
      for (auto& run : runs_) run.job->Cancel();
    });
    std::vector<std::thread> threads;
    for (auto& run : runs_) threads.emplace_back([this, &run] { RunJob(run); });
    for (auto& thread : threads) thread.join();
  }

  void RunJob(JobRun& run) {
    const std::string& platform = run.record.platform;
    std::ofstream log(run.record.log_path, std::ios::app);
    const auto note = [&](const std::string& line) {
      log << "hephy: " << line << '\n' << std::flush;
    };
    try {
      Store store(config_.DatabasePath());
      const auto slot = scheduler_.AcquireJobSlot(abort_.get_token());
      if (!slot) {
        run.result.outcome = PlatformJobResult::Outcome::kCancelled;
        store.FinishJob(run.record.id, "cancelled", std::nullopt, "");
        return;
      }
      store.StartJob(run.record.id, run.arch_tag);
      const std::string prefix = "[" + platform + "] ";
      const auto start = std::chrono::steady_clock::now();
      run.result = run.job->Run([&](std::string_view line) {
        log << line << '\n' << std::flush;
        say_(prefix + std::string(line));
        run.tail.emplace_back(line);
        if (run.tail.size() > kTailLines) run.tail.pop_front();
      });
      run.elapsed = std::chrono::steady_clock::now() - start;
      if (run.result.outcome == PlatformJobResult::Outcome::kSucceeded) {
        note("pushed " + run.arch_tag + " " + run.result.digest);
        say_("hephy: " + prefix + "built and pushed in " + Seconds(run.elapsed) + ": " +
             run.result.digest);
      } else {
        note(run.result.error);
      }
      store.FinishJob(run.record.id, StatusOf(run.result.outcome), run.result.exit_code,
                      run.result.digest);
    } catch (const std::exception& e) {
      run.result.outcome = PlatformJobResult::Outcome::kFailed;
      run.result.error = e.what();
      note(run.result.error);
      Log()->error("build {} {}: {}", build_.id, platform, e.what());
    }
    if (run.result.outcome != PlatformJobResult::Outcome::kSucceeded) abort_.request_stop();
  }

  const Config& config_;
  Executor& executor_;
  BuildScheduler& scheduler_;
  const BuildPlan& plan_;
  const Build& build_;
  const Say& say_;
  const std::filesystem::path work_dir_;
  std::stop_source abort_;
  std::deque<JobRun> runs_;  // stable addresses: job threads hold references
};

}  // namespace

bool BuildRunner::Run(const QuarantineRepo& repo, const BuildPlan& plan, const Say& say_any,
                      std::stop_token cancel) {
  // Job threads speak at once; each line must reach the pusher whole.
  std::mutex say_mutex;
  const Say say = [&](const std::string& line) {
    std::lock_guard lock(say_mutex);
    say_any(line);
  };
  const auto start = std::chrono::steady_clock::now();
  Build build;
  try {
    Store store(config_.DatabasePath());
    build = store.CreateBuild(plan.build, config_.LogsDir());
  } catch (const std::exception& e) {
    Log()->error("push {} app={}: cannot record a build: {}", plan.build.push_id, plan.build.app,
                 e.what());
    say("hephy: internal error: cannot record the build: " + std::string(e.what()));
    return false;
  }

  Outcome outcome;
  try {
    BuildExecution execution(config_, executor_, scheduler_, plan, build, say);
    outcome = execution.Execute(repo, cancel);
  } catch (const std::exception& e) {
    outcome.status = "failed";
    outcome.error = e.what();
    say("hephy: " + outcome.error);
  }

  const std::string id = std::to_string(build.id);
  const std::string elapsed = Seconds(std::chrono::steady_clock::now() - start);
  try {
    Store store(config_.DatabasePath());
    store.FinishBuild(build.id, outcome.status, outcome.error, outcome.index_digest, outcome.tags);
  } catch (const std::exception& e) {
    Log()->error("build {}: cannot record its end: {}", build.id, e.what());
  }
  Log()->info("build {} app={} unit={} {} {} in {}{}", build.id, plan.build.app, plan.build.unit,
              plan.build.new_sha.substr(0, 7), outcome.status, elapsed,
              outcome.error.empty() ? "" : ": " + outcome.error);
  if (outcome.status == "succeeded") {
    say("hephy: build " + id + " succeeded in " + elapsed);
    return true;
  }
  say("hephy: build " + id + " " + outcome.status + " after " + elapsed + "; " +
      BranchOf(plan.build.ref) + " was not updated (see `hephyd logs " + id + "`)");
  return false;
}

}  // namespace hephy
