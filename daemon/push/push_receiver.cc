#include "push/push_receiver.h"

#include <algorithm>

#include "build/push_options.h"
#include "build/push_output.h"
#include "git/repo_head.h"
#include "util/disk_space.h"
#include "util/logging.h"
#include "util/metrics.h"

namespace hephy {
namespace {

const std::string kZeroId(40, '0');

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("push");
  return logger;
}

}  // namespace

void PushReceiver::KeepHeadOnABranchOf(const PushRequest& request, const Say& say) const {
  try {
    const auto branch =
        KeepHeadOnABranch(config_.ReposDir() / (request.app + ".git"), request.updates);
    if (branch) {
      say("hephy: " + request.app + "'s HEAD now names " + branch->substr(11) +
          ", which clones check out");
    }
  } catch (const std::exception& e) {
    // The push itself is fine; only a clone's default checkout is not.
    Log()->warn("push {} app={}: cannot point HEAD at a pushed branch: {}", request.push_id,
                request.app, e.what());
  }
}

PushVerdict PushReceiver::Receive(const PushRequest& request, const Say& say,
                                  std::stop_token cancel) const {
  try {
    std::vector<std::string> problems;
    const PushOptions options = ParsePushOptions(request.options, problems);
    for (const auto& option : options.ignored) {
      say("hephy: ignoring push option '" + option +
          "' (hephyd knows rebuild=all|UNIT,..., platforms=OS/ARCH,..., no-cache and "
          "color=always|never|auto)");
    }
    const auto& branches = config_.builder.branches;
    std::vector<Plan> plans;
    for (const auto& update : request.updates) {
      if (!update.ref.starts_with("refs/heads/") || update.new_id == kZeroId) continue;
      const std::string branch = update.ref.substr(11);
      if (std::find(branches.begin(), branches.end(), branch) == branches.end()) {
        say("hephy: " + branch +
            " is not a build branch (builder.branches); accepted without a "
            "build");
        continue;
      }
      PlanRequest plan_request{.repo = config_.ReposDir() / (request.app + ".git"),
                               .env = request.env,
                               .select = PlanRequest::Select::kChanged,
                               .units = {},
                               .options = options,
                               .build = {.app = request.app,
                                         .ref = update.ref,
                                         .old_sha = update.old_id,
                                         .new_sha = update.new_id,
                                         .pusher = request.user,
                                         .key_fingerprint = request.key_fingerprint,
                                         .push_id = request.push_id,
                                         .triggered_by = "push"}};
      Plan plan = planner_.Make(plan_request, say, cancel);
      problems.insert(problems.end(), plan.problems.begin(), plan.problems.end());
      plans.push_back(std::move(plan));
    }
    // Every problem of the push is told at once, before anything builds.
    PushVerdict verdict{.accepted = problems.empty()};
    if (!verdict.accepted) {
      say("hephy: push refused, nothing was built:");
      for (const auto& problem : problems) say("  " + problem);
      verdict.reason = problems.front().substr(0, problems.front().find('\n'));
    }
    // Every build of a push must succeed for git to move any ref; the first
    // failed branch ends the push.
    for (const auto& plan : plans) {
      if (!verdict.accepted) break;
      verdict.accepted = runner_.Run(plan.builds, say, cancel, &verdict.reason,
                                     UsesColor(config_.push.color, options.color, true));
    }
    if (verdict.accepted) KeepHeadOnABranchOf(request, say);
    Log()->info("push {} app={} user={} refs={} {}", request.push_id, request.app, request.user,
                request.updates.size(), verdict.accepted ? "accepted" : "refused");
    Metrics().pushes.With({verdict.accepted ? "accepted" : "rejected"}).Increment();
    return verdict;
  } catch (const std::exception& e) {
    Log()->error("push {} app={}: {}", request.push_id, request.app, e.what());
    say(std::string("hephy: internal error: ") + e.what());
    if (SaysNoSpaceLeft(e.what())) say(NoSpaceLeftMessage(config_.data_dir));
    Metrics().pushes.With({"rejected"}).Increment();
    return {.accepted = false, .reason = std::string("internal error: ") + e.what()};
  }
}

}  // namespace hephy
