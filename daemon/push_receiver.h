// What hephyd does with a push, decided in git's pre-receive hook: which
// ref updates build, running those builds, and whether git may accept the
// push.
#pragma once

#include <functional>
#include <stop_token>
#include <string>

#include "build_runner.h"
#include "hephy/config.h"
#include "push_request.h"

namespace hephy {

class PushReceiver {
 public:
  PushReceiver(const Config& config, BuildRunner& runner) : config_(config), runner_(runner) {}

  // Branches in builder.branches build; a repository builds as one unit
  // named after the app when it has a Dockerfile at its root, and a push that
  // would build without one is refused before anything builds. Deletions,
  // tags and other branches are accepted without a build. `cancel` fires
  // when the pusher goes away. Returns the hook's exit status (0 only when
  // every build succeeded); never throws.
  int Receive(const PushRequest& request, const Say& say, std::stop_token cancel) const;

 private:
  const Config& config_;
  BuildRunner& runner_;
};

}  // namespace hephy
