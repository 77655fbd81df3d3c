// Who runs a command, and what they may do: the host's command line may do
// everything; a caller over SSH has their rights (rights.h).
#include <cstdlib>

#include "commands/cli_commands.h"
#include "hephy/error.h"

namespace hephy {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

std::optional<Caller> CallerFromEnvironment(Store& store) {
  const std::string user = Env("HEPHY_SSH_USER");
  const std::string deploy_key = Env("HEPHY_SSH_DEPLOY_KEY");
  if (user.empty() && deploy_key.empty()) return std::nullopt;
  Caller caller;
  caller.key_fingerprint = Env("HEPHY_SSH_KEY");
  caller.remote = Env("HEPHY_SSH_REMOTE");
  if (!user.empty()) {
    caller.user = store.FindUser(user);
    if (!caller.user) throw Error("user '" + user + "' no longer exists");
  } else {
    caller.deploy_key = store.FindDeployKey(deploy_key);
    if (!caller.deploy_key) throw Error("deploy key " + deploy_key + " no longer exists");
  }
  return caller;
}

std::string Who(const CommandContext& ctx) {
  if (!ctx.caller) return "cli";
  if (ctx.caller->user) return ctx.caller->user->name;
  return "deploy key " + ctx.caller->key_fingerprint;
}

void RequireAdmin(const CommandContext& ctx, std::string_view action) {
  if (IsAdmin(ctx)) return;
  throw Error(Who(ctx) + " may not " + std::string(action) + " (admins only)");
}

bool IsAdmin(const CommandContext& ctx) {
  return !ctx.caller || (ctx.caller->user && ctx.caller->user->admin);
}

bool IsSelfOrAdmin(const CommandContext& ctx, const std::string& name) {
  return IsAdmin(ctx) || (ctx.caller->user && ctx.caller->user->name == name);
}

std::optional<std::string> ListedUser(const CommandContext& ctx,
                                      const std::optional<std::string>& asked,
                                      const std::string& what) {
  if (!asked) {
    if (IsAdmin(ctx)) return std::nullopt;
    if (!ctx.caller->user) RequireAdmin(ctx, "list " + what);
    return ctx.caller->user->name;
  }
  if (!IsSelfOrAdmin(ctx, *asked)) RequireAdmin(ctx, "list the " + what + " of " + *asked);
  return asked;
}

std::string Remote(const CommandContext& ctx) { return ctx.caller ? ctx.caller->remote : ""; }

AppAccess AccessTo(CommandContext& ctx, const App& app) {
  if (!ctx.caller) return AppAccess::kOwner;
  if (ctx.caller->user) return AccessOf(ctx.store, app, *ctx.caller->user);
  return DeployKeyAccess(*ctx.caller->deploy_key, app.name);
}

App AppFor(CommandContext& ctx, const std::string& name, AppAccess needed,
           std::string_view action) {
  auto app = ctx.store.FindApp(name);
  if (!app) throw Error("no app '" + name + "'");
  RequireAccess(AccessTo(ctx, *app), needed, Who(ctx), action, name);
  return *app;
}

Build ReadableBuild(CommandContext& ctx, int64_t id) {
  auto build = ctx.store.FindBuild(id);
  if (build && !IsAdmin(ctx)) {
    const auto app = ctx.store.FindApp(build->app);
    if (!app || AccessTo(ctx, *app) < AppAccess::kRead) build.reset();
  }
  if (!build) throw Error("build " + std::to_string(id) + ": no such build");
  return std::move(*build);
}

}  // namespace hephy
