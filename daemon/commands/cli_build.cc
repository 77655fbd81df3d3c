// hephyd build [DIR]: the one-shot build of a local checkout, for CI. It
// plans, builds, stitches and tags as a push does, in this process, without
// a running `hephyd serve`.
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <ostream>
#include <thread>

#include "build/build_planner.h"
#include "build/build_runner.h"
#include "build/build_scheduler.h"
#include "build/push_output.h"
#include "commands/cli_commands.h"
#include "git/libgit2.h"
#include "hephy/error.h"
#include "hephy/executor.h"
#include "registry/docker_config.h"
#include "registry/embedded_registry.h"
#include "store/data_dir.h"
#include "upstream/upstream_cache.h"
#include "util/names.h"

namespace hephy {
namespace {

using git::Owned;

// Who builds, for the build record: the login name of the user running it.
std::string CallerName() {
  if (const passwd* entry = getpwuid(getuid())) return entry->pw_name;
  return "uid " + std::to_string(getuid());
}

// What of a checkout a build needs: where its objects are, and the commit
// and ref asked for.
struct Checkout {
  std::filesystem::path git_dir;  // the common one, with the objects
  std::filesystem::path top;      // the work tree (the git dir of a bare repository)
  std::string commit;
  std::string ref;  // "refs/heads/main", or the revision as given when it names no ref
  // remote.origin.url without user information (a CI job's clone URL
  // carries its token there); empty when there is no origin.
  std::string origin;
};

// `url` without "user[:password]@" after its scheme; scp-style and local
// ones are left as they are, as they hold no password.
std::string WithoutUserInfo(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto authority = scheme + 3;
  const auto end = url.find_first_of("/?#", authority);
  const auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + url.substr(at + 1);
}

// The commit `rev` names in the repository at or above `dir`. Throws Error
// naming the directory, or the `option` that gave the revision.
Checkout OpenCheckout(const std::filesystem::path& dir, const std::string& rev,
                      const std::string& option = "--rev") {
  git::Init();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, dir.c_str(), 0, nullptr) != 0) {
    git::Throw(dir.string() + ": not a git checkout");
  }
  const Owned<git_repository, git_repository_free> repo(raw);
  git_object* object = nullptr;
  git_reference* reference = nullptr;
  if (git_revparse_ext(&object, &reference, raw, rev.c_str()) != 0) {
    git::Throw(option + " " + rev);
  }
  const Owned<git_object, git_object_free> owned_object(object);
  const Owned<git_reference, git_reference_free> owned_reference(reference);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, object, GIT_OBJECT_COMMIT) != 0) {
    git::Throw(option + " " + rev + ": not a commit");
  }
  const Owned<git_object, git_object_free> commit(peeled);
  Checkout checkout;
  checkout.git_dir = git_repository_commondir(raw);
  checkout.top = git_repository_workdir(raw) != nullptr ? git_repository_workdir(raw)
                                                        : git_repository_path(raw);
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, git_object_id(peeled));
  checkout.commit = hex;
  checkout.ref = rev;
  git_remote* remote = nullptr;
  if (git_remote_lookup(&remote, raw, "origin") == 0) {
    const Owned<git_remote, git_remote_free> owned_remote(remote);
    if (const char* url = git_remote_url(remote)) checkout.origin = WithoutUserInfo(url);
  }
  // HEAD on a branch is recorded as that branch, a tag as the tag; a
  // detached HEAD (as CI checks out) as HEAD.
  git_reference* resolved = nullptr;
  if (reference != nullptr && git_reference_resolve(&resolved, reference) == 0) {
    const Owned<git_reference, git_reference_free> owned(resolved);
    checkout.ref = git_reference_name(resolved);
  }
  return checkout;
}

// "web" for "/builds/group/web/" (and for a bare "/srv/web.git/").
std::string DirectoryName(const std::filesystem::path& top) {
  std::string name = std::filesystem::absolute(top).lexically_normal().parent_path().filename();
  if (name.ends_with(".git")) name.resize(name.size() - 4);
  return name;
}

// A commit of the checkout, for --changed-since.
std::string CommitOf(const std::filesystem::path& git_dir, const std::string& rev) {
  return OpenCheckout(git_dir, rev, "--changed-since").commit;
}

std::vector<std::string> ParsePlatforms(const std::string& list) {
  std::vector<std::string> platforms;
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string platform = list.substr(start, comma - start);
    if (!IsValidPlatform(platform)) {
      throw UsageError("--platforms: '" + platform + "' is not a platform (OS/ARCH[/VARIANT])");
    }
    platforms.push_back(platform);
    start = comma + 1;
  }
  return platforms;
}

// SIGINT and SIGTERM, taken by a thread of their own while the build runs,
// stop it: its jobs are killed and its builds recorded cancelled. Blocked in
// the calling thread before any other starts, so that every thread the
// build starts inherits the mask; the old mask is restored at the end.
class StopOnSignals {
 public:
  explicit StopOnSignals(const Say& say) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
    waiter_ = std::thread([this, say] {
      int signal = 0;
      sigwait(&signals_, &signal);
      if (done_) return;
      say(std::string("hephy: ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
          ": cancelling the build");
      stop_.request_stop();
    });
  }
  ~StopOnSignals() {
    done_ = true;
    pthread_kill(waiter_.native_handle(), SIGTERM);  // ends its sigwait
    waiter_.join();
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  std::stop_token token() const { return stop_.get_token(); }

 private:
  sigset_t signals_, old_mask_;
  std::stop_source stop_;
  std::atomic<bool> done_ = false;
  std::thread waiter_;
};

int BuildCheckout(CliArgs& args, CommandContext& ctx) {
  const auto app_option = args.Option("--app");
  const auto rev = args.Option("--rev").value_or("HEAD");
  const bool all = args.Flag("--all");
  const auto changed_since = args.Option("--changed-since");
  const auto platforms = args.Option("--platforms");
  std::vector<std::string> units;
  while (auto unit = args.Option("--unit")) units.push_back(*unit);
  const std::filesystem::path dir = args.Optional().value_or(".");
  args.ExpectEnd();
  if (int(all) + int(changed_since.has_value()) + int(!units.empty()) > 1) {
    throw UsageError(
        "--all, --changed-since and --unit choose the units in different ways: "
        "give one of them");
  }
  PushOptions options;
  if (platforms) options.only_platforms = ParsePlatforms(*platforms);

  const Checkout checkout = OpenCheckout(dir, rev);
  const std::string app = app_option.value_or(DirectoryName(checkout.top));
  if (app_option) {
    ValidateAppName(app);
  } else if (!IsValidAppName(app)) {
    throw Error("the checkout's directory name '" + app +
                "' is not an app name (lowercase letters, digits and '-'): give one with --app");
  }
  const Config& config = ctx.config;
  // Checked before anything is built: a broken credentials file would
  // otherwise fail every job.
  DockerConfig::Load(config.registry.docker_config);
  MakePrivateDirectory(config.LogsDir());
  MakePrivateDirectory(config.BuildsDir());
  if (!ctx.store.FindApp(app)) ctx.store.CreateApp(app, std::nullopt);

  std::mutex out_mutex;
  const Say say = [&](const std::string& line) {
    const std::lock_guard lock(out_mutex);
    ctx.io.out << line << std::endl;  // flushed: the log is live
  };
  const StopOnSignals signals(say);
  std::optional<EmbeddedRegistry> registry;
  if (config.registry.embedded) {
    say("hephy: starting the embedded registry on " + config.registry.url +
        " (registry.embedded); CI normally pushes to an external registry");
    registry.emplace(config.registry.url, config.RegistryDir());
  }
  const auto executor = MakeExecutor(config);
  BuildScheduler scheduler(config.builder.max_jobs);
  BuildRunner runner(config, *executor, scheduler);
  UpstreamCache upstreams(config.UpstreamsDir(), config.upstreams);
  const BuildPlanner planner(config, upstreams);

  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  PlanRequest request{
      .repo = checkout.git_dir,
      .env = {},
      .select = !units.empty()  ? PlanRequest::Select::kNamed
                : changed_since ? PlanRequest::Select::kChanged
                                : PlanRequest::Select::kAll,
      .units = units,
      .options = options,
      .build = {
          .app = app,
          .ref = checkout.ref,
          .old_sha = changed_since ? CommitOf(checkout.git_dir, *changed_since) : checkout.commit,
          .new_sha = checkout.commit,
          .pusher = CallerName(),
          .key_fingerprint = "",
          .push_id = "cli-" + std::to_string(now),
          .triggered_by = "cli"}};
  Plan plan = planner.Make(request, say, signals.token());
  for (auto& build : plan.builds) build.tree_url = checkout.origin;
  if (!plan.problems.empty()) {
    say("hephy: build of " + app + " refused, nothing was built:");
    for (const auto& problem : plan.problems) say("  " + problem);
    ctx.io.err << "hephyd build: " << plan.problems.front() << "\n";
    return 1;
  }
  std::string failure;
  // Coloured as a push is, when a person watches (push.color auto).
  const bool terminal = &ctx.io.out == &std::cout && isatty(STDOUT_FILENO) == 1;
  if (runner.Run(plan.builds, say, signals.token(), &failure,
                 UsesColor(config.push.color, std::nullopt, terminal))) {
    return 0;
  }
  ctx.io.err << "hephyd build: " << failure << "\n";
  return 1;
}

}  // namespace

const std::vector<Command>& OneShotBuildCommands() {
  static const std::vector<Command> commands = {
      {"build", "",
       "build [DIR] [--app NAME] [--rev REV] [--all | --unit UNIT... | --changed-since REV]\n"
       "             [--platforms OS/ARCH,...]",
       "Builds the units of the git checkout at DIR (default: the current\n"
       "directory) once, in this process, for CI pipelines: planned, built,\n"
       "pushed, stitched into multi-arch indexes and tagged as a push would be,\n"
       "with the executor of builder.executor (kaniko-local inside a Kaniko image).\n"
       "The build log is printed as it happens, lines prefixed [OS/ARCH]; builds\n"
       "are recorded in data_dir with the trigger `cli`. `hephyd serve` need not\n"
       "run.\n"
       "\n"
       "Options:\n"
       "  --app NAME            the app (registry repository {app}, records);\n"
       "                        default: the checkout directory's name\n"
       "  --rev REV             the commit to build (default: HEAD)\n"
       "  --all                 build every unit (the default)\n"
       "  --unit UNIT           build UNIT (repeatable) and the units built FROM it\n"
       "  --changed-since REV   build the units changed since REV, and their dependents\n"
       "  --platforms LIST      only these of each unit's platforms, e.g. linux/amd64\n"
       "\n"
       "The registry is the config's registry.url. With registry.embedded (the\n"
       "default), hephyd starts docker-registry there for the build's duration;\n"
       "CI normally sets an external registry (registry.embedded: false, its\n"
       "credentials in registry.docker_config). SIGINT and SIGTERM cancel the\n"
       "build: its jobs are killed and the builds recorded cancelled.\n"
       "\n"
       "Exit status: 0 when every unit was built (or none needed building), 1\n"
       "when a unit failed (named on stderr) or was cancelled, 2 usage error.",
       BuildCheckout},
  };
  return commands;
}

}  // namespace hephy
