#include "build/daily_prune.h"

#include <condition_variable>
#include <mutex>

#include "build/image_tags.h"
#include "hephy/store.h"
#include "util/logging.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("prune");
  return logger;
}

// When the audit log says the last prune ran, if within `interval`.
std::optional<std::chrono::system_clock::time_point> LastPrune(
    const Config& config, std::chrono::system_clock::duration interval) {
  Store store(config.DatabasePath());
  std::optional<std::chrono::system_clock::time_point> last;
  for (const auto& entry : store.ListAudit(std::chrono::system_clock::now() - interval)) {
    if (entry.action != "prune") continue;
    std::tm utc{};
    if (strptime(entry.at.c_str(), "%Y-%m-%dT%H:%M:%S", &utc) != nullptr) {
      last = std::chrono::system_clock::from_time_t(timegm(&utc));
    }
  }
  return last;
}

}  // namespace

std::jthread DailyPrune::Start(Run run, std::chrono::system_clock::time_point first,
                               std::chrono::system_clock::duration interval) {
  return std::jthread([run = std::move(run), first, interval](std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    auto next = first;
    while (true) {
      {
        std::unique_lock lock(mutex);
        // Ends at `next`, or at once when stop is requested.
        wake.wait_until(lock, stop, next, [] { return false; });
      }
      if (stop.stop_requested()) return;
      try {
        run(stop);
      } catch (const std::exception& e) {
        Log()->error("daily prune failed: {}", e.what());
      }
      next = std::max(next + interval, std::chrono::system_clock::now());
    }
  });
}

DailyPrune::DailyPrune(Run run, std::chrono::system_clock::time_point first,
                       std::chrono::system_clock::duration interval)
    : thread_(Start(std::move(run), first, interval)) {}

DailyPrune::DailyPrune(const Config& config, Pruner& pruner) {
  if (!config.retention.daily) return;
  auto first = std::chrono::system_clock::now() + kFirstDelay;
  if (const auto last = LastPrune(config, kInterval)) first = std::max(first, *last + kInterval);
  Log()->info("daily prune: first at {}", Rfc3339(first));
  thread_ = Start(
      [&pruner](std::stop_token stop) {
        pruner.Run(
            false, "hephyd", "", [](const std::string& line) { Log()->info("{}", line); }, stop);
      },
      first, kInterval);
}

}  // namespace hephy
