#include "build/rebuilder.h"

#include <chrono>

#include "git/libgit2.h"
#include "util/logging.h"
#include "util/names.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("rebuild");
  return logger;
}

// The commit `ref` points at in the bare repository `repo`; empty when the
// repository or the ref does not exist.
std::string HeadOf(const std::filesystem::path& repo, const std::string& ref) {
  git::Init();
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, repo.c_str()) != 0) return "";
  const git::Owned<git_repository, git_repository_free> owned(raw);
  git_oid oid;
  if (git_reference_name_to_id(&oid, raw, ref.c_str()) != 0) return "";
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, &oid);
  return hex;
}

}  // namespace

int Rebuilder::Rebuild(const RebuildRequest& request, const Say& say,
                       std::stop_token cancel) const {
  try {
    if (!IsValidAppName(request.app)) {
      say("hephy: '" + request.app + "' is not an app name");
      return 1;
    }
    const std::string branch = config_.builder.branches.front();
    const std::string ref = "refs/heads/" + branch;
    const auto repo = config_.ReposDir() / (request.app + ".git");
    const std::string head = HeadOf(repo, ref);
    if (head.empty()) {
      say("hephy: " + request.app + " has no " + branch + " branch to rebuild: push it first");
      return 1;
    }
    const auto id = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    PlanRequest plan_request{.repo = repo,
                             .env = {},
                             .select = request.select,
                             .units = request.units,
                             .options = {.no_cache = request.no_cache},
                             .build = {.app = request.app,
                                       .ref = ref,
                                       .old_sha = head,
                                       .new_sha = head,
                                       .pusher = request.requested_by,
                                       .key_fingerprint = "",
                                       .push_id = request.triggered_by + "-" + std::to_string(id),
                                       .triggered_by = request.triggered_by}};
    const Plan plan = planner_.Make(plan_request, say, cancel);
    if (!plan.problems.empty()) {
      say("hephy: rebuild of " + request.app + " refused, nothing was built:");
      for (const auto& problem : plan.problems) say("  " + problem);
      return 1;
    }
    return runner_.Run(plan.builds, say, cancel) ? 0 : 1;
  } catch (const std::exception& e) {
    Log()->error("rebuild of {}: {}", request.app, e.what());
    say(std::string("hephy: internal error: ") + e.what());
    return 1;
  }
}

}  // namespace hephy
