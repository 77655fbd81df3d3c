#include "build/build_runner.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "build/image_tags.h"
#include "build/platform_args.h"
#include "build/push_output.h"
#include "build/unit_order.h"
#include "executors/host_platforms.h"
#include "git/context_export.h"
#include "git/quarantine_repo.h"
#include "hephy/error.h"
#include "hephy/registry_client.h"
#include "hephy/store.h"
#include "registry/image_index.h"
#include "registry/registry_access.h"
#include "registry/registry_token_authority.h"
#include "store/build_logs.h"
#include "util/disk_space.h"
#include "util/logging.h"
#include "util/metrics.h"
#include "util/names.h"

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
  std::optional<std::string> step;  // the last one its output started
  size_t index = 0;                 // among the build's platforms, for its colour
  std::chrono::steady_clock::duration elapsed{};
};

struct Outcome {
  std::string status = "failed";
  std::string error;
  std::string index_digest;
  std::vector<std::string> tags;
};

// The units of a run that have finished, for the units waiting on them.
class FinishedUnits {
 public:
  void Add(const std::string& unit, const Outcome& outcome) {
    {
      std::lock_guard lock(mutex_);
      finished_[unit] = outcome;
    }
    changed_.notify_all();
  }

  // Blocks until every unit of `units` has finished; their outcomes, or
  // nullopt when `stop` fired first.
  std::optional<std::map<std::string, Outcome>> WaitFor(
      const std::map<std::string, std::vector<std::string>>& units, std::stop_token stop) {
    std::unique_lock lock(mutex_);
    const bool all = changed_.wait(lock, stop, [&] {
      return std::all_of(units.begin(), units.end(),
                         [&](const auto& unit) { return finished_.contains(unit.first); });
    });
    if (!all) return std::nullopt;
    std::map<std::string, Outcome> outcomes;
    for (const auto& [unit, images] : units) outcomes[unit] = finished_.at(unit);
    return outcomes;
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::map<std::string, Outcome> finished_;
};

// Why a run stops early: the pusher went away or a unit failed. The first
// reason given is kept.
class RunAbort {
 public:
  void Request(const std::string& reason) {
    std::lock_guard lock(mutex_);
    if (source_.stop_requested()) return;
    reason_ = reason;
    source_.request_stop();
  }
  std::stop_token token() const { return source_.get_token(); }
  std::string reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
  }

 private:
  mutable std::mutex mutex_;
  std::stop_source source_;
  std::string reason_;
};

// Whose read access a build's pulls from the embedded registry have (a
// Dockerfile may name another app's image): the user who pushed or asked for
// it. A scheduled rebuild has nobody's, and a deploy key's push names no user.
std::optional<std::string> PullingUser(const Build& build) {
  if (build.triggered_by == "push" || build.triggered_by == "manual") return build.pusher;
  return std::nullopt;
}

// One unit of a run, from its record to its end: waits for the units it
// depends on, builds each platform, stitches and tags the index, records the
// outcome and tells the units waiting on it.
class BuildExecution {
 public:
  BuildExecution(const Config& config, Executor& executor, BuildScheduler& scheduler,
                 RegistryTokenAuthority* registry_tokens, const BuildPlan& plan, const Build& build,
                 const Say& say, const Palette& palette, bool several_units)
      : config_(config),
        executor_(executor),
        scheduler_(scheduler),
        registry_tokens_(registry_tokens),
        plan_(plan),
        build_(build),
        say_(say),
        palette_(palette),
        line_prefix_(several_units ? plan.build.unit + " " : ""),
        work_dir_(config.BuildsDir() / std::to_string(build.id)) {}

  bool Run(FinishedUnits& finished, RunAbort& abort) {
    const auto start = std::chrono::steady_clock::now();
    Outcome outcome;
    try {
      outcome = WaitAndBuild(finished, abort);
    } catch (const std::exception& e) {
      outcome.status = "failed";
      outcome.error = e.what();
      say_("hephy: " + line_prefix_ + outcome.error);
    }
    // Before the end is recorded: whoever sees the build finished finds
    // nothing of it left on disk.
    RemoveWorkDir();
    if (outcome.status == "cancelled" && outcome.error.empty()) outcome.error = abort.reason();
    if (outcome.status == "failed") abort.Request(build_.unit + " failed");

    const std::string id = std::to_string(build_.id);
    const std::string elapsed = Seconds(std::chrono::steady_clock::now() - start);
    try {
      Store store(config_.DatabasePath());
      store.FinishBuild(build_.id, outcome.status, outcome.error, outcome.index_digest,
                        outcome.tags);
    } catch (const std::exception& e) {
      Log()->error("build {}: cannot record its end: {}", build_.id, e.what());
    }
    Log()->info("build {} app={} unit={} {} {} in {}{}", build_.id, build_.app, build_.unit,
                build_.new_sha.substr(0, 7), outcome.status, elapsed,
                outcome.error.empty() ? "" : ": " + outcome.error);
    if (outcome.status == "succeeded") {
      say_("hephy: build " + id + " (" + build_.unit + ") " + palette_.Good("succeeded") + " in " +
           elapsed);
      built_ = BuiltImage{.app = build_.app,
                          .unit = build_.unit,
                          .build_id = build_.id,
                          .repository = config_.registry.url + "/" +
                                        RepositoryFor(config_.registry.repository, build_.app),
                          .digest = outcome.index_digest,
                          .tags = outcome.tags,
                          .insecure = config_.registry.insecure};
    } else {
      say_("hephy: build " + id + " (" + build_.unit + ") " + palette_.Bad(outcome.status) +
           " after " + elapsed + (outcome.error.empty() ? "" : ": " + outcome.error) +
           " (see `hephyd logs " + id + "`)");
    }
    finished.Add(build_.unit, outcome);
    status_ = outcome.status;
    summary_ = "build " + id + " (" + build_.unit + ") " + outcome.status +
               (outcome.error.empty() ? "" : ": " + outcome.error);
    return outcome.status == "succeeded";
  }

  // After Run: how the unit ended, and that in one line for the pusher's record.
  const std::string& status() const { return status_; }
  const std::string& summary() const { return summary_; }
  // After a successful Run: the image built, for the push's summary.
  const BuiltImage& built() const { return built_; }

 private:
  void RemoveWorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
    if (ec)
      Log()->warn("build {}: cannot remove {}: {}", build_.id, work_dir_.string(), ec.message());
  }

  Outcome WaitAndBuild(FinishedUnits& finished, RunAbort& abort) {
    Outcome outcome;
    outcome.status = "cancelled";
    if (!plan_.waits_for.empty()) {
      std::vector<std::string> names;
      for (const auto& [unit, images] : plan_.waits_for) names.push_back(unit);
      say_("hephy: " + build_.unit + " waits for " + Join(names, ", "));
    }
    const auto dependencies = finished.WaitFor(plan_.waits_for, abort.token());
    if (!dependencies || abort.token().stop_requested()) return outcome;
    std::map<std::string, std::string> pinned;
    const std::string repository = RepositoryFor(config_.registry.repository, build_.app);
    for (const auto& [unit, images] : plan_.waits_for) {
      const Outcome& dependency = dependencies->at(unit);
      if (dependency.status != "succeeded") {
        outcome.error = "its dependency " + unit + " was not built";
        return outcome;
      }
      for (const auto& image : images) {
        pinned[image] = config_.registry.url + "/" + repository + "@" + dependency.index_digest;
      }
    }
    return Execute(pinned, abort.token());
  }

  // Builds with the FROM images of dependencies pinned to `pinned`
  // (image -> image@digest). Returns with the status "cancelled" when
  // `stop` fires.
  Outcome Execute(const std::map<std::string, std::string>& pinned, std::stop_token stop) {
    Outcome outcome;
    Store store(config_.DatabasePath());
    store.StartBuild(build_.id);
    const bool upstream = !build_.source_sha.empty();
    const std::string& commit = upstream ? build_.source_sha : build_.new_sha;
    // The default, isolated, goes without saying; the others explain a
    // failing download or say what the step was trusted with.
    std::string network;
    if (config_.builder.executor == "buildah" && plan_.network != NetworkMode::kIsolated) {
      network = plan_.network == NetworkMode::kNone ? " (RUN steps without network)"
                                                    : " (RUN steps on the host's network)";
    }
    std::vector<std::string> platforms;
    for (const auto& platform : plan_.build.platforms) {
      platforms.push_back(platform + (plan_.emulated.contains(platform) ? " (emulated)" : ""));
    }
    const std::string cache =
        config_.builder.cache.enabled && plan_.no_cache ? " without the layer cache" : "";
    say_("hephy: building " + build_.unit + " (build " + std::to_string(build_.id) + ", " +
         (upstream ? build_.source_url + " " : BranchOf(build_.ref) + " ") + commit.substr(0, 7) +
         ") for " + Join(platforms, ", ") + network + cache);

    std::filesystem::remove_all(work_dir_);
    std::filesystem::create_directories(work_dir_);
    std::filesystem::create_directories(BuildLogDir(config_.LogsDir(), build_.id));
    const auto context = work_dir_ / "context";
    {
      const QuarantineRepo repo(plan_.context.repo, plan_.context.env);
      ExportTree(repo.get(), plan_.context.commit, plan_.context.dir, context);
    }
    if (!pinned.empty()) Pin(context / plan_.dockerfile, pinned);

    // The embedded registry gets credentials made for this build alone.
    std::optional<RegistryTokenAuthority::BuildPass> pass;
    RegistryAccess access;
    if (registry_tokens_ != nullptr) {
      pass.emplace(registry_tokens_->AdmitBuild(build_.app, PullingUser(build_)));
      access = {pass->credentials(), "the build's credentials for the embedded registry"};
    } else {
      access = ResolveRegistryAccess(config_.registry);
    }
    const auto now = std::chrono::system_clock::now();
    const UnitTags tags = TagsFor(build_.unit, commit, now, plan_.additional_tags);
    const std::string repository = RepositoryFor(config_.registry.repository, build_.app);
    for (const auto& record : build_.jobs) {
      auto& run = runs_.emplace_back();
      run.record = record;
      run.index = runs_.size() - 1;
      run.arch_tag = ArchTag(tags.default_tag, record.platform);
      PlatformJobSpec spec;
      spec.build_id = build_.id;
      spec.platform = record.platform;
      spec.context_dir = context;
      spec.dockerfile = plan_.dockerfile;
      spec.target = plan_.target;
      spec.build_args =
          WithPlatformArgs(plan_.build_args, plan_.declared_args,
                           BuildPlatformFor(config_, record.platform), record.platform);
      spec.network = plan_.network;
      spec.destination = config_.registry.url + "/" + repository + ":" + run.arch_tag;
      spec.insecure_registry = config_.registry.insecure;
      spec.registry_ca_file = config_.registry.ca_file;
      spec.registry_credentials = access.credentials;
      spec.work_dir = work_dir_ / "jobs" / DashedPlatform(record.platform);
      spec.timeout = config_.builder.timeout;
      spec.concurrent_jobs = static_cast<int>(
          std::min<size_t>(build_.jobs.size(), static_cast<size_t>(config_.builder.max_jobs)));
      if (config_.builder.cache.enabled) {
        spec.cache =
            LayerCacheUse{.app = build_.app,
                          .unit = build_.unit,
                          .repository = config_.registry.url + "/" +
                                        CacheRepositoryFor(config_.registry.repository, build_.app),
                          .refresh = plan_.no_cache,
                          .ttl = config_.builder.cache.ttl};
      }
      std::filesystem::create_directories(spec.work_dir);
      run.job = executor_.Prepare(spec);
    }

    RunJobs(stop);

    if (stop.stop_requested()) {
      outcome.status = "cancelled";
      return outcome;
    }
    for (auto& run : runs_) {
      if (run.result.outcome == PlatformJobResult::Outcome::kSucceeded ||
          run.result.outcome == PlatformJobResult::Outcome::kCancelled) {
        continue;
      }
      const std::string& platform = run.record.platform;
      if (outcome.error.empty()) outcome.error = platform + ": " + run.result.error;
      // Which platform and step failed comes first; the lines that show why follow.
      say_(FailureLine(palette_, line_prefix_, platform, run.index, Seconds(run.elapsed), run.step,
                       run.result.error));
      const std::string prefix = line_prefix_ + palette_.Platform(platform, run.index) + " ";
      if (!run.tail.empty()) {
        say_("hephy: " + prefix + "its last lines were:");
        for (const auto& line : run.tail) say_("  " + prefix + line);
      }
      const bool disk_full =
          SaysNoSpaceLeft(run.result.error) ||
          std::any_of(run.tail.begin(), run.tail.end(),
                      [](const std::string& line) { return SaysNoSpaceLeft(line); });
      if (disk_full) say_(NoSpaceLeftMessage(config_.data_dir));
    }
    if (!outcome.error.empty()) return outcome;

    std::vector<std::string> digests;
    for (const auto& run : runs_) digests.push_back(run.result.digest);
    RegistryClient registry(ClientOptions(config_.registry, access));
    const std::string source = upstream                  ? build_.source_url
                               : !plan_.tree_url.empty() ? plan_.tree_url
                                                         : SourceUrl(config_, build_.app);
    const StitchedIndex index = StitchIndex(registry, repository, digests,
                                            {{"org.opencontainers.image.source", source},
                                             {"org.opencontainers.image.revision", commit},
                                             {"org.opencontainers.image.created", Rfc3339(now)}},
                                            tags.index_tags);
    outcome.status = "succeeded";
    outcome.index_digest = index.digest;
    outcome.tags = tags.index_tags;
    say_("hephy: " + line_prefix_ + "image " + config_.registry.url + "/" + repository + "@" +
         index.digest);
    say_("hephy: " + line_prefix_ + "tagged " + Join(tags.index_tags, ", "));
    return outcome;
  }

  // Rewrites the exported Dockerfile so that the FROM lines naming a unit
  // built in this run use the digest just built.
  void Pin(const std::filesystem::path& dockerfile,
           const std::map<std::string, std::string>& pinned) {
    std::ifstream in(dockerfile, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    std::ofstream out(dockerfile, std::ios::binary | std::ios::trunc);
    out << PinFromImages(text, pinned);
    if (!out.flush()) throw Error(dockerfile.string() + ": cannot rewrite FROM lines");
    for (const auto& [image, digest_ref] : pinned)
      say_("hephy: FROM " + image + " -> " + digest_ref);
  }

  // One thread per platform. A job that fails, or a stop request, cancels
  // every other job of the build.
  void RunJobs(std::stop_token stop) {
    std::stop_callback stopped(stop, [this] { abort_.request_stop(); });
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
      const auto slot =
          scheduler_.AcquireJobSlot(abort_.get_token(), plan_.emulated.contains(platform));
      if (!slot) {
        run.result.outcome = PlatformJobResult::Outcome::kCancelled;
        store.FinishJob(run.record.id, "cancelled", std::nullopt, "");
        return;
      }
      store.StartJob(run.record.id, run.arch_tag);
      const std::string prefix = line_prefix_ + palette_.Platform(platform, run.index) + " ";
      const auto start = std::chrono::steady_clock::now();
      run.result = run.job->Run([&](std::string_view line) {
        log << line << '\n' << std::flush;
        say_(prefix + std::string(line));
        if (auto step = StepOf(line)) run.step = std::move(step);
        run.tail.emplace_back(line);
        if (run.tail.size() > kTailLines) run.tail.pop_front();
      });
      run.elapsed = std::chrono::steady_clock::now() - start;
      ObserveDuration(Metrics().job_duration.With({platform}), run.elapsed);
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
  RegistryTokenAuthority* registry_tokens_;
  const BuildPlan& plan_;
  const Build& build_;
  const Say& say_;
  const Palette& palette_;
  const std::string line_prefix_;  // "unit " when a run builds several units
  const std::filesystem::path work_dir_;
  std::stop_source abort_;
  std::deque<JobRun> runs_;  // stable addresses: job threads hold references
  std::string status_, summary_;
  BuiltImage built_;
};

}  // namespace

bool BuildRunner::Cancel(int64_t build_id, const std::string& reason) {
  std::lock_guard lock(runs_mutex_);
  const auto run = runs_.find(build_id);
  if (run == runs_.end()) return false;
  run->second(reason);
  return true;
}

bool BuildRunner::Run(const std::vector<BuildPlan>& plans, const Say& say_any,
                      std::stop_token cancel, std::string* failure, bool color) {
  if (plans.empty()) return true;
  const Palette palette(color);
  // Job threads speak at once; each line must reach the pusher whole.
  std::mutex say_mutex;
  const Say say = [&](const std::string& line) {
    std::lock_guard lock(say_mutex);
    say_any(line);
  };
  const std::string& app = plans.front().build.app;
  std::vector<Build> builds;
  try {
    Store store(config_.DatabasePath());
    for (const auto& plan : plans)
      builds.push_back(store.CreateBuild(plan.build, config_.LogsDir()));
  } catch (const std::exception& e) {
    Log()->error("push {} app={}: cannot record a build: {}", plans.front().build.push_id, app,
                 e.what());
    say("hephy: internal error: cannot record the build: " + std::string(e.what()));
    if (failure != nullptr) *failure = "internal error: cannot record the build";
    return false;
  }

  RunAbort abort;
  std::stop_callback pusher_gone(cancel, [&] { abort.Request("the pusher disconnected"); });
  {
    std::lock_guard lock(runs_mutex_);
    for (const auto& build : builds) {
      runs_[build.id] = [&abort](const std::string& reason) { abort.Request(reason); };
    }
  }
  const struct Unregister {
    std::function<void()> run;
    ~Unregister() { run(); }
  } unregister{[&] {
    std::lock_guard lock(runs_mutex_);
    for (const auto& build : builds) runs_.erase(build.id);
  }};
  std::vector<std::string> ids;
  for (const auto& build : builds) ids.push_back(std::to_string(build.id));
  const auto lease = scheduler_.AcquireApp(app, abort.token(), [&] {
    say("hephy: another build of " + app + " is running; build" + (ids.size() > 1 ? "s " : " ") +
        Join(ids, ", ") + (ids.size() > 1 ? " wait" : " waits") + " for it");
  });

  FinishedUnits finished;
  std::vector<char> succeeded(plans.size(), 0);
  std::vector<std::pair<std::string, std::string>> ends(plans.size());  // status, summary
  std::vector<BuiltImage> images(plans.size());
  {
    std::vector<std::jthread> units;
    for (size_t i = 0; i < plans.size(); ++i) {
      units.emplace_back([&, i] {
        BuildExecution unit(config_, executor_, scheduler_, registry_tokens_, plans[i], builds[i],
                            say, palette, plans.size() > 1);
        succeeded[i] = unit.Run(finished, abort);
        ends[i] = {unit.status(), unit.summary()};
        images[i] = unit.built();
      });
    }
  }
  const auto built = static_cast<size_t>(std::count(succeeded.begin(), succeeded.end(), 1));
  if (built == plans.size()) {
    // Where the images are, last, where the pusher looks.
    for (const auto& line : SummaryLines(palette, images, config_.http.public_url)) say(line);
    return true;
  }
  if (failure != nullptr) {
    // The others were most likely cancelled because of the one that failed.
    auto first =
        std::find_if(ends.begin(), ends.end(), [](const auto& e) { return e.first == "failed"; });
    if (first == ends.end()) {
      first = std::find_if(ends.begin(), ends.end(),
                           [](const auto& e) { return e.first != "succeeded"; });
    }
    *failure = first->second;
  }
  const std::string branch = BranchOf(plans.front().build.ref);
  say("hephy: " +
      (plans.size() > 1
           ? std::to_string(built) + " of " + std::to_string(plans.size()) + " units built; "
           : "") +
      palette.Bad(plans.front().build.triggered_by == "push" ? branch + " was not updated"
                                                             : "rebuild failed"));
  return false;
}

}  // namespace hephy
