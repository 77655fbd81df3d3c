// Runs one build: a unit of a pushed commit, built for each platform in
// parallel by the executor, the per-architecture images stitched into one
// index and tagged, every step recorded in the store and streamed to the
// pusher.
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "build_scheduler.h"
#include "hephy/config.h"
#include "hephy/executor.h"
#include "hephy/store.h"
#include "quarantine_repo.h"

namespace hephy {

// Sends one line to the pusher. Thread-safe, never throws.
using Say = std::function<void(const std::string& line)>;

// What to build: the record to create (app, unit, ref, commits, pusher,
// platforms) and where the Dockerfile is in the context.
struct BuildPlan {
  NewBuild build;                         // unit names the tags: "{unit}-{YYYYMMDD}-{sha7}"
  std::string dockerfile = "Dockerfile";  // relative to the context
};

class BuildRunner {
 public:
  BuildRunner(const Config& config, Executor& executor, BuildScheduler& scheduler)
      : config_(config), executor_(executor), scheduler_(scheduler) {}

  // Builds `plan` from the commit in `repo`. Returns true when every platform
  // was built and pushed and the index tagged. A stop request on `cancel`
  // (the pusher went away) kills every job and records the build cancelled.
  // Never throws: failures are told to the pusher and recorded.
  bool Run(const QuarantineRepo& repo, const BuildPlan& plan, const Say& say,
           std::stop_token cancel);

 private:
  const Config& config_;
  Executor& executor_;
  BuildScheduler& scheduler_;
};

}  // namespace hephy
