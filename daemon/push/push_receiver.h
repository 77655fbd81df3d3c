// What hephyd does with a push, decided in git's pre-receive hook: which
// ref updates build, running those builds, and whether git may accept the
// push.
#pragma once

#include <functional>
#include <stop_token>
#include <string>

#include "build/build_planner.h"
#include "build/build_runner.h"
#include "git/push_request.h"
#include "hephy/config.h"

namespace hephy {

class PushReceiver {
 public:
  PushReceiver(const Config& config, const BuildPlanner& planner, BuildRunner& runner)
      : config_(config), planner_(planner), runner_(runner) {}

  // Branches in builder.branches build the units the planner picks (the
  // changed ones, or those -o rebuild= names); a push with a problem (a
  // malformed build-config.yaml, an unknown unit, an upstream that cannot be
  // fetched, nothing to build at all) is refused with every problem listed,
  // before anything builds. Deletions, tags and other branches are accepted
  // without a build. `cancel` fires when the pusher goes away. Accepts the
  // push only when every build succeeded; a refusal's reason is its first
  // problem, or the first build that failed. An accepted push leaves HEAD
  // on a branch that exists (git/repo_head.h). Never throws.
  PushVerdict Receive(const PushRequest& request, const Say& say, std::stop_token cancel) const;

 private:
  // Once a push is accepted, HEAD names a branch it will have
  // (git/repo_head.h); a failure is logged, and the push still accepted.
  void KeepHeadOnABranchOf(const PushRequest& request, const Say& say) const;

  const Config& config_;
  const BuildPlanner& planner_;
  BuildRunner& runner_;
};

}  // namespace hephy
