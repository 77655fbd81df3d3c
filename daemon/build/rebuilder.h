// Rebuilds of an app without a push: `hephyd rebuild APP [UNIT...]` and the
// rebuild schedule. They build the head of the app's first build branch
// (builder.branches), planned and run as a push would be.
#pragma once

#include <stop_token>
#include <string>
#include <vector>

#include "build/build_planner.h"
#include "build/build_runner.h"
#include "hephy/config.h"

namespace hephy {

struct RebuildRequest {
  std::string app;
  PlanRequest::Select select = PlanRequest::Select::kAll;  // kAll, kNamed or kListed
  std::vector<std::string> units;                          // for kNamed
  std::string triggered_by = "manual";                     // manual|schedule
  std::string requested_by;                                // recorded as the build's pusher
  bool no_cache = false;  // reuse no layer of earlier builds (scheduled: always)
};

class Rebuilder {
 public:
  Rebuilder(const Config& config, const BuildPlanner& planner, BuildRunner& runner)
      : config_(config), planner_(planner), runner_(runner) {}

  // Returns 0 when every planned unit was built (or none needed to be), 1
  // otherwise: an app without a repository or without the build branch, a
  // problem in the plan, a failed build. Tells `say` everything; never throws.
  int Rebuild(const RebuildRequest& request, const Say& say, std::stop_token cancel) const;

 private:
  const Config& config_;
  const BuildPlanner& planner_;
  BuildRunner& runner_;
};

}  // namespace hephy
