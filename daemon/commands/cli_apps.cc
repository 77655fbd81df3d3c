// hephyd apps create | delete | list | info | grant | revoke
#include <climits>
#include <ostream>
#include <random>

#include "commands/cli_commands.h"
#include "executors/layer_cache.h"
#include "git/repo_store.h"
#include "hephy/error.h"
#include "store/build_logs.h"

namespace hephy {
namespace {

// The address clients use; a wildcard listen address is not one.
std::string PushHost(const ListenAddress& listen) {
  if (listen.host == "0.0.0.0" || listen.host == "::") {
    return "HOST:" + std::to_string(listen.port);
  }
  return listen.ToString();
}

nlohmann::json OwnerJson(const App& app) {
  return app.owner ? nlohmann::json(*app.owner) : nlohmann::json(nullptr);
}

int Create(CliArgs& args, CommandContext& ctx) {
  auto owner = args.Option("--owner");
  const std::string name = args.Required("NAME");
  args.ExpectEnd();
  if (ctx.caller) {
    // A user may create what a first push would create: an app of their own.
    const bool admin = ctx.caller->user && ctx.caller->user->admin;
    if (!admin) {
      if (!ctx.caller->user || !ctx.config.apps.auto_create) {
        RequireAdmin(ctx, "create apps");
      }
      if (owner && *owner != ctx.caller->user->name) {
        RequireAdmin(ctx, "create apps for other users");
      }
      owner = ctx.caller->user->name;
    }
  }
  const App app = ctx.store.CreateApp(name, owner);
  ctx.store.Audit({ctx.actor, "apps.create", name, owner ? "owner " + *owner : "", Remote(ctx)});
  ctx.io.out << "created app " << app.name << (owner ? " owned by " + *owner : "") << "\n"
             << "push to it with: git push ssh://git@" << PushHost(ctx.config.ssh.listen) << "/"
             << app.name << ".git main\n";
  return 0;
}

int Delete(CliArgs& args, CommandContext& ctx) {
  const std::string confirm = args.Option("--confirm").value_or("");
  const std::string name = args.Required("NAME");
  args.ExpectEnd();
  const App app = AppFor(ctx, name, AppAccess::kOwner, "delete");
  if (confirm != name) {
    throw UsageError("deleting app '" + name +
                     "' removes its repository, members, deploy keys and build records; "
                     "confirm with --confirm " +
                     name);
  }
  const auto builds = ctx.store.ListBuilds(name, INT_MAX);
  for (const auto& build : builds) {
    if (!IsTerminalBuildStatus(build.status)) {
      throw Error("app '" + name + "' has a build " + build.status + " (build " +
                  std::to_string(build.id) + "); delete it when it has ended");
    }
  }
  ctx.store.DeleteApp(name);
  for (const auto& build : builds) {
    std::error_code ignored;  // a log directory already gone is fine
    std::filesystem::remove_all(BuildLogDir(ctx.config.LogsDir(), build.id), ignored);
  }
  // Renamed first, so that a half-removed repository is never served.
  const RepoStore repos(ctx.config.ReposDir(), {}, ctx.config.builder.branches.front());
  const auto path = repos.PathFor(name);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    const auto doomed =
        path.parent_path() / ("." + name + ".deleted-" + std::to_string(std::random_device{}()));
    std::filesystem::rename(path, doomed, ec);
    if (!ec) std::filesystem::remove_all(doomed, ec);
    if (ec) throw Error("app '" + name + "' deleted, but not its repository: " + ec.message());
  }
  // An app made later under the same name, maybe by someone else, starts
  // with no layer of this one's.
  const auto cache = LayerCache(ctx.config.LayerCacheDir(), 0).Prune(name);
  for (const auto& entry : cache.busy) {
    ctx.io.err << "warning: the layer cache of " << entry.key.Name()
               << " is in use and was kept; `hephyd cache prune " << name << "` removes it later\n";
  }
  ctx.store.Audit({ctx.actor, "apps.delete", name, "", Remote(ctx)});
  ctx.io.out << "deleted app " << name
             << " (its images stay in the registry; delete them there if needed)\n";
  return 0;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  args.ExpectEnd();
  std::vector<std::pair<App, AppAccess>> apps;
  for (auto& app : ctx.store.ListApps()) {
    const AppAccess access = AccessTo(ctx, app);
    if (access >= AppAccess::kRead) apps.emplace_back(std::move(app), access);
  }
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& [a, access] : apps) {
      out.push_back({{"name", a.name},
                     {"owner", OwnerJson(a)},
                     {"access", std::string(AccessName(access))},
                     {"created_at", a.created_at}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [a, access] : apps) {
    rows.push_back({a.name, a.owner.value_or("-"), std::string(Describe(access)), a.created_at});
  }
  PrintTable(ctx.io.out, {"NAME", "OWNER", "ACCESS", "CREATED"}, rows);
  return 0;
}

int Info(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const std::string name = args.Required("APP");
  args.ExpectEnd();
  const App app = AppFor(ctx, name, AppAccess::kRead, "read");
  const auto members = ctx.store.ListMembers(name);
  const auto deploy_keys = ctx.store.ListDeployKeys(name);
  const auto builds = ctx.store.ListBuilds(name, 1);
  if (json) {
    auto member_list = nlohmann::json::array();
    for (const auto& m : members) {
      member_list.push_back({{"user", m.user}, {"access", m.access}, {"since", m.created_at}});
    }
    auto key_list = nlohmann::json::array();
    for (const auto& k : deploy_keys) {
      key_list.push_back({{"fingerprint", k.key.fingerprint},
                          {"access", k.access},
                          {"comment", k.key.comment},
                          {"added_by", k.added_by},
                          {"created_at", k.created_at}});
    }
    PrintJson(
        ctx.io.out,
        {{"name", app.name},
         {"owner", OwnerJson(app)},
         {"access", std::string(AccessName(AccessTo(ctx, app)))},
         {"created_at", app.created_at},
         {"members", member_list},
         {"deploy_keys", key_list},
         {"last_build", builds.empty() ? nlohmann::json(nullptr)
                                       : nlohmann::json{{"id", builds[0].id},
                                                        {"unit", builds[0].unit},
                                                        {"status", builds[0].status},
                                                        {"created_at", builds[0].created_at}}}});
    return 0;
  }
  std::ostream& out = ctx.io.out;
  out << "app:         " << app.name << "\n"
      << "owner:       " << app.owner.value_or("- (managed by admins)") << "\n"
      << "your access: " << Describe(AccessTo(ctx, app)) << "\n"
      << "created:     " << app.created_at << "\n"
      << "git:         ssh://git@" << PushHost(ctx.config.ssh.listen) << "/" << app.name
      << ".git\n";
  if (!builds.empty()) {
    out << "last build:  " << builds[0].id << " (" << builds[0].unit << ") " << builds[0].status
        << ", " << builds[0].created_at << "\n";
  }
  out << "\nmembers:\n";
  if (members.empty()) out << "  (none)\n";
  for (const auto& m : members) out << "  " << m.user << " (" << m.access << ")\n";
  out << "\ndeploy keys:\n";
  if (deploy_keys.empty()) out << "  (none)\n";
  for (const auto& k : deploy_keys) {
    out << "  " << k.key.fingerprint << " (" << k.access << ")"
        << (k.key.comment.empty() ? "" : " " + k.key.comment) << "\n";
  }
  return 0;
}

int Grant(CliArgs& args, CommandContext& ctx) {
  const std::string name = args.Required("APP");
  const std::string user = args.Required("USER");
  const std::string access = args.Optional().value_or("write");
  args.ExpectEnd();
  if (access != "read" && access != "write") {
    throw UsageError("access must be read or write, got '" + access + "'");
  }
  const App app = AppFor(ctx, name, AppAccess::kOwner, "manage the members of");
  if (app.owner == user) throw Error(user + " owns app '" + name + "' already");
  ctx.store.SetMember(name, user, access);
  ctx.store.Audit({ctx.actor, "apps.grant", name, user + " " + access, Remote(ctx)});
  ctx.io.out << user << " now has " << access << " access to app " << name << "\n";
  return 0;
}

int Revoke(CliArgs& args, CommandContext& ctx) {
  const std::string name = args.Required("APP");
  const std::string user = args.Required("USER");
  args.ExpectEnd();
  AppFor(ctx, name, AppAccess::kOwner, "manage the members of");
  if (!ctx.store.RemoveMember(name, user)) {
    throw Error(user + " is not a member of app '" + name + "'");
  }
  ctx.store.Audit({ctx.actor, "apps.revoke", name, user, Remote(ctx)});
  ctx.io.out << user << " no longer has access to app " << name << "\n";
  return 0;
}

}  // namespace

const std::vector<Command>& AppsCommands() {
  static const std::vector<Command> commands = {
      {"apps", "create", "apps create NAME [--owner USER]",
       "Records an app; its repository is made by the first push. Names are 1 to 63\n"
       "lowercase letters, digits and '-'. Without --owner only admins may push to\n"
       "it. Over SSH a user may create apps of their own when apps.auto_create is\n"
       "true (as a first push would); --owner for someone else is for admins.",
       Create},
      {"apps", "delete", "apps delete NAME --confirm NAME",
       "Deletes an app: its repository, members, deploy keys and build records (its\n"
       "images stay in the registry). For its owner and admins; refused while one\n"
       "of its builds runs. --confirm repeats the name, as a safety catch.",
       Delete},
      {"apps", "list", "apps list [--json]",
       "Lists the apps you may read, with their owners and your access.", List},
      {"apps", "info", "apps info APP [--json]",
       "Shows an app: owner, your access, members, deploy keys and its last build.", Info},
      {"apps", "grant", "apps grant APP USER [read|write]",
       "Gives USER read access (clone, fetch, builds, logs) or write access (also\n"
       "push and rebuild) to APP; write when not given. Changes the access of a\n"
       "member. For the app's owner and admins.",
       Grant},
      {"apps", "revoke", "apps revoke APP USER",
       "Takes USER's membership of APP away. For the app's owner and admins.", Revoke},
  };
  return commands;
}

}  // namespace hephy
