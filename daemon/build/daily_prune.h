// serve's daily prune (retention.daily): runs a prune at `first`, then
// every `interval`, on a thread of its own, until destroyed. Destroying it
// stops it promptly: a wait ends at once, a prune in progress is asked to
// stop (its stop token) and is waited for.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <thread>

#include "build/pruner.h"
#include "hephy/config.h"

namespace hephy {

class DailyPrune {
 public:
  using Run = std::function<void(std::stop_token)>;
  static constexpr std::chrono::hours kInterval{24};
  // After a start, serve settles before the first prune.
  static constexpr std::chrono::minutes kFirstDelay{5};

  DailyPrune(Run run, std::chrono::system_clock::time_point first,
             std::chrono::system_clock::duration interval);
  // serve's: `pruner` once a day, the first kFirstDelay after start or a
  // day after the last prune the audit log records, whichever is later.
  // Does nothing when retention.daily is false.
  DailyPrune(const Config& config, Pruner& pruner);
  ~DailyPrune() = default;  // the jthread asks to stop and joins
  DailyPrune(const DailyPrune&) = delete;
  DailyPrune& operator=(const DailyPrune&) = delete;

 private:
  static std::jthread Start(Run run, std::chrono::system_clock::time_point first,
                            std::chrono::system_clock::duration interval);
  std::jthread thread_;
};

}  // namespace hephy
