// The rebuild schedule inside `hephyd serve`: at each time
// builder.rebuild_schedule names, every app rebuilds the units its
// rebuild-weekly.txt lists (trigger "schedule"). The last run is kept in the
// database, so a restart neither repeats a run nor loses one: a run missed
// while hephyd was down happens once, at start.
#pragma once

#include <chrono>
#include <stop_token>

#include "build/rebuild_schedule.h"
#include "build/rebuilder.h"
#include "hephy/config.h"

namespace hephy {

class ScheduledRebuilds {
 public:
  ScheduledRebuilds(const Config& config, const Rebuilder& rebuilder)
      : config_(config), rebuilder_(rebuilder) {}

  // Runs until `stop` fires; on its own thread. A first start records "now"
  // as the last run rather than rebuilding everything at once.
  void Run(std::stop_token stop) const;

 private:
  // One run over every app; returns how many apps failed.
  int RunOnce(std::stop_token stop) const;

  const Config& config_;
  const Rebuilder& rebuilder_;
};

}  // namespace hephy
