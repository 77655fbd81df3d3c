// The rebuild schedule inside `hephyd serve`: at each time
// builder.rebuild_schedule names, every app rebuilds the units its
// rebuild-weekly.txt lists (trigger "schedule"). The last run is kept in the
// database, so a restart neither repeats a run nor loses one: a run missed
// while hephyd was down happens once, at start. A drain lets the app being
// rebuilt finish and starts no other; the run is then not recorded, so the
// next hephyd runs it again.
#pragma once

#include <chrono>
#include <stop_token>

#include "build/rebuild_schedule.h"
#include "build/rebuilder.h"
#include "hephy/config.h"
#include "util/drain_gate.h"

namespace hephy {

class ScheduledRebuilds {
 public:
  // Each app's rebuild holds a pass of `drain`.
  ScheduledRebuilds(const Config& config, const Rebuilder& rebuilder, DrainGate& drain)
      : config_(config), rebuilder_(rebuilder), drain_(drain) {}

  // Runs until `stop` fires; on its own thread. A first start records "now"
  // as the last run rather than rebuilding everything at once.
  void Run(std::stop_token stop) const;

 private:
  struct RunOutcome {
    int failed = 0;         // apps whose rebuild failed
    bool finished = false;  // false when stopped or drained before the last app
  };
  // One run over every app.
  RunOutcome RunOnce(std::stop_token stop) const;

  const Config& config_;
  const Rebuilder& rebuilder_;
  DrainGate& drain_;
};

}  // namespace hephy
