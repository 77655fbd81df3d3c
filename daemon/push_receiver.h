// What hephyd does with a push, decided in git's pre-receive hook: which
// ref updates build, and whether git may accept the push.
#pragma once

#include <functional>
#include <string>

#include "hephy/config.h"
#include "push_request.h"

namespace hephy {

class PushReceiver {
 public:
  explicit PushReceiver(const Config& config) : config_(config) {}

  // Branches in builder.branches build; a repository builds as one unit
  // named after the app when it has a Dockerfile at its root, and a push that
  // would build without one is refused. Deletions, tags and other branches
  // are accepted without a build. Returns the hook's exit status; never throws.
  int Receive(const PushRequest& request, const std::function<void(std::string)>& say) const;

 private:
  const Config& config_;
};

}  // namespace hephy
