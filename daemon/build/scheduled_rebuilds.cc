#include "build/scheduled_rebuilds.h"

#include <condition_variable>
#include <mutex>

#include "build/image_tags.h"
#include "hephy/store.h"
#include "util/logging.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("schedule");
  return logger;
}

// Sleeps until `when` or until `stop` fires; false when it fired.
bool SleepUntil(std::chrono::system_clock::time_point when, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  return !wake.wait_until(lock, stop, when, [] { return false; }) && !stop.stop_requested();
}

}  // namespace

void ScheduledRebuilds::Run(std::stop_token stop) const {
  try {
    const RebuildSchedule schedule = RebuildSchedule::Parse(config_.builder.rebuild_schedule);
    Store store(config_.DatabasePath());
    auto last = store.LastScheduledRebuild();
    if (!last) {
      last = std::chrono::system_clock::now();
      store.RecordScheduledRebuild(*last);
    }
    while (!stop.stop_requested()) {
      const auto next = schedule.NextAfter(*last);
      if (!next) return;  // off
      // A run missed while hephyd was down is due at once, and only once.
      if (!schedule.DueAt(*last, std::chrono::system_clock::now())) {
        Log()->info("next scheduled rebuild at {} ({})", Rfc3339(*next), schedule.ToString());
        if (!SleepUntil(*next, stop)) return;
      }
      const auto started = std::chrono::system_clock::now();
      const RunOutcome run = RunOnce(stop);
      if (!run.finished) return;
      store.RecordScheduledRebuild(started);
      last = started;
      Log()->info("scheduled rebuild finished{}",
                  run.failed == 0 ? "" : ": " + std::to_string(run.failed) + " app(s) failed");
    }
  } catch (const std::exception& e) {
    Log()->error("the rebuild schedule stopped: {}", e.what());
  }
}

ScheduledRebuilds::RunOutcome ScheduledRebuilds::RunOnce(std::stop_token stop) const {
  std::vector<App> apps;
  {
    Store store(config_.DatabasePath());
    apps = store.ListApps();
  }
  RunOutcome run;
  for (const auto& app : apps) {
    if (stop.stop_requested()) return run;
    const DrainGate::Pass pass = drain_.Admit();
    if (!pass) {
      Log()->info("scheduled rebuild stopped before {}: hephyd is draining", app.name);
      return run;
    }
    if (!std::filesystem::exists(config_.ReposDir() / (app.name + ".git"))) continue;
    Log()->info("scheduled rebuild of {}", app.name);
    // Build output is in the build logs; the daemon log gets hephyd's own lines.
    const Say say = [&](const std::string& line) {
      if (line.starts_with("hephy: ")) Log()->info("{}: {}", app.name, line.substr(7));
    };
    const RebuildRequest request{.app = app.name,
                                 .select = PlanRequest::Select::kListed,
                                 .units = {},
                                 .triggered_by = "schedule",
                                 .requested_by = "hephyd",
                                 // Weekly rebuilds are there to pick up fresh packages.
                                 .no_cache = true};
    if (rebuilder_.Rebuild(request, say, stop) != 0) ++run.failed;
  }
  run.finished = !stop.stop_requested();
  return run;
}

}  // namespace hephy
