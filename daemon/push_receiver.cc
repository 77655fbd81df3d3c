#include "push_receiver.h"

#include <algorithm>

#include "logging.h"
#include "quarantine_repo.h"

namespace hephy {
namespace {

const std::string kZeroId(40, '0');

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("push");
  return logger;
}

}  // namespace

int PushReceiver::Receive(const PushRequest& request, const Say& say,
                          std::stop_token cancel) const {
  try {
    const auto& branches = config_.builder.branches;
    std::optional<QuarantineRepo> repo;
    std::vector<BuildPlan> plans;
    bool refused = false;
    for (const auto& update : request.updates) {
      if (!update.ref.starts_with("refs/heads/") || update.new_id == kZeroId) continue;
      const std::string branch = update.ref.substr(11);
      if (std::find(branches.begin(), branches.end(), branch) == branches.end()) {
        say("hephy: " + branch +
            " is not a build branch (builder.branches); accepted without a "
            "build");
        continue;
      }
      if (!repo) repo.emplace(config_.ReposDir() / (request.app + ".git"), request.env);
      if (!repo->HasFile(update.new_id, "Dockerfile")) {
        say("hephy: nothing to build on " + branch + " (" + update.new_id.substr(0, 7) +
            "): there is no Dockerfile at the repository's root");
        say("hephy: add one and push again");
        refused = true;
        continue;
      }
      plans.push_back({.build = {.app = request.app,
                                 .unit = request.app,
                                 .ref = update.ref,
                                 .old_sha = update.old_id,
                                 .new_sha = update.new_id,
                                 .pusher = request.user,
                                 .key_fingerprint = request.key_fingerprint,
                                 .push_id = request.push_id,
                                 .platforms = config_.builder.platforms}});
    }
    // Every build of a push must succeed for git to move any ref; the
    // first failure ends the push.
    for (const auto& plan : plans) {
      if (refused) break;
      refused = !runner_.Run(*repo, plan, say, cancel);
    }
    Log()->info("push {} app={} user={} refs={} {}", request.push_id, request.app, request.user,
                request.updates.size(), refused ? "refused" : "accepted");
    return refused ? 1 : 0;
  } catch (const std::exception& e) {
    Log()->error("push {} app={}: {}", request.push_id, request.app, e.what());
    say(std::string("hephy: internal error: ") + e.what());
    return 1;
  }
}

}  // namespace hephy
