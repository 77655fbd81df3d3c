#include "git/git_access.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <regex>

#include "hephy/error.h"
#include "store/rights.h"

namespace hephy {
namespace {

// git gets a small, explicit environment: nothing of hephyd's own leaks into
// the hooks, and only a well-formed GIT_PROTOCOL from the client passes.
std::vector<std::string> GitEnvironment(const GitAccessRequest& request, const Config& config) {
  std::vector<std::string> env;
  for (const char* name : {"PATH", "HOME", "TMPDIR", "LANG"}) {
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  }
  if (!request.git_protocol.empty()) env.push_back("GIT_PROTOCOL=" + request.git_protocol);
  env.push_back("HEPHY_APP=" + request.command.app);
  env.push_back("HEPHY_USER=" + PusherName(request));
  env.push_back("HEPHY_KEY_FINGERPRINT=" + request.key_fingerprint);
  env.push_back("HEPHY_HOOK_SOCKET=" + config.HookSocketPath().string());
  env.push_back("HEPHY_PUSH_ID=" + request.push_id);
  return env;
}

// While the pre-receive hook is silent (a build step that prints nothing),
// git sends the client a keepalive every receive.keepAlive seconds (5 by
// default); they must come well within ssh.idle_timeout.
std::string ReceiveKeepAlive(const Config& config) {
  const auto idle = config.ssh.idle_timeout.count();
  const auto seconds = idle > 0 ? std::clamp<int64_t>(idle / 3, 1, 5) : 5;
  return "receive.keepAlive=" + std::to_string(seconds);
}

}  // namespace

bool IsWellFormedGitProtocol(std::string_view value) {
  static const std::regex kProtocol("^[a-z0-9=:.-]{1,64}$");
  return std::regex_match(value.begin(), value.end(), kProtocol);
}

std::string PusherName(const GitAccessRequest& request) {
  if (request.user) return request.user->name;
  return "deploy:" + request.key_fingerprint;
}

std::string NewPushId() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
  return id;
}

SpawnOptions AdmitGitCommand(const GitAccessRequest& request, const Config& config, Store& store,
                             const RepoStore& repos) {
  const std::string& name = request.command.app;
  const bool push = request.command.service == GitService::kReceivePack;
  const std::string action = push ? "push to" : "fetch from";

  auto app = store.FindApp(name);
  const auto access = [&](const App& of) {
    return request.user ? AccessOf(store, of, *request.user)
                        : DeployKeyAccess(*request.deploy_key, name);
  };
  // An app that does not exist and one the caller may not read get the same
  // words. A first push creating an app (apps.auto_create) tells the name
  // is taken anyway, and then says so.
  if ((!app && (!push || !config.apps.auto_create || request.deploy_key)) ||
      (app && access(*app) == AppAccess::kNone)) {
    if (app && push && config.apps.auto_create && request.user) {
      throw Error(request.user->name + " may not push to app '" + name +
                  "' (the name is taken; choose another)");
    }
    throw Error("no app '" + name + "'" +
                (push && !config.apps.auto_create
                     ? " (apps are created by admins: 'hephyd apps create " + name + "')"
                     : ""));
  }
  if (!app) {
    try {
      app = store.CreateApp(name, request.user->name);
    } catch (const Error&) {
      app = store.FindApp(name);  // created by a concurrent first push
      if (!app) throw;
    }
  }
  const AppAccess needed = push ? AppAccess::kWrite : AppAccess::kRead;
  const std::string& key = request.key_fingerprint;
  RequireAccess(access(*app), needed,
                request.user                ? request.user->name
                : key.starts_with("token:") ? "deploy token " + key.substr(6)
                                            : "deploy key " + key,
                action, name);
  if (!push && !repos.Exists(name)) {
    throw Error("app '" + name + "' has no repository yet; push to it first");
  }
  const auto path = push ? repos.Prepare(name) : repos.PathFor(name);

  SpawnOptions spawn;
  spawn.argv = push
                   ? std::vector<std::string>{"git", "-c", ReceiveKeepAlive(config), "receive-pack"}
                   : std::vector<std::string>{"git", "upload-pack", "--strict"};
  if (request.exchange != GitExchange::kSession) spawn.argv.push_back("--stateless-rpc");
  if (request.exchange == GitExchange::kAdvertisement) spawn.argv.push_back("--advertise-refs");
  spawn.argv.push_back(path.string());
  spawn.env = GitEnvironment(request, config);
  spawn.pipe_stdin = spawn.pipe_stdout = spawn.pipe_stderr = true;
  return spawn;
}

}  // namespace hephy
