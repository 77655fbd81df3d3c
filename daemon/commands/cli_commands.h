// The commands behind the CLI, grouped as `hephyd GROUP VERB`. Each group
// lives in its own cli_GROUP.cc.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/cli_streams.h"
#include "hephy/config.h"
#include "hephy/store.h"
#include "store/rights.h"
#include "util/cli_args.h"

namespace hephy {

// Who runs a command over SSH: a user, or a deploy key (which may run
// `whoami` and `help` only). hephyd serve starts `hephyd COMMAND...` for an
// SSH exec request with the caller in the environment (HEPHY_SSH_USER or
// HEPHY_SSH_DEPLOY_KEY, HEPHY_SSH_KEY, HEPHY_SSH_REMOTE).
struct Caller {
  std::optional<User> user;
  std::optional<DeployKey> deploy_key;
  std::string key_fingerprint;
  std::string remote;  // "127.0.0.1:53422"
};

struct CommandContext {
  const Config& config;
  Store& store;
  CliStreams io;
  std::string actor;  // who runs it, for the audit log: "cli" on the host
  // nullopt: the host's command line, which may do everything (it can read
  // the database anyway).
  std::optional<Caller> caller;
};

// The caller of a command run over SSH, from the environment serve gave it;
// nullopt on the host. Throws Error when the user or key is gone.
std::optional<Caller> CallerFromEnvironment(Store& store);

// "alice", "deploy key SHA256:...", or "cli".
std::string Who(const CommandContext& ctx);

// Throws Error unless the caller is the host or an admin: "alice may not
// add users (admins only)". `action` is what was asked: "add users".
void RequireAdmin(const CommandContext& ctx, std::string_view action);

// Whether the caller is the host or an admin.
bool IsAdmin(const CommandContext& ctx);

// Whether the caller is the host, an admin, or the user `name`.
bool IsSelfOrAdmin(const CommandContext& ctx, const std::string& name);

// Whose things a listing shows: `asked` when the caller may see them (else
// Error "alice may not list the WHAT of bob (admins only)"); when nobody is
// asked for, everyone's for the host and admins, the caller's own otherwise.
std::optional<std::string> ListedUser(const CommandContext& ctx,
                                      const std::optional<std::string>& asked,
                                      const std::string& what);

// The caller's address for the audit log; empty on the host.
std::string Remote(const CommandContext& ctx);

// What the caller may do to `app` (kOwner on the host).
AppAccess AccessTo(CommandContext& ctx, const App& app);

// The app, when the caller has at least `needed` on it. Throws Error "no app
// 'x'" when it does not exist, or the denial of RequireAccess.
App AppFor(CommandContext& ctx, const std::string& name, AppAccess needed, std::string_view action);

struct Command {
  std::string_view group;  // "users"
  std::string_view verb;   // "add"; empty for a group that is one command ("logs")
  std::string_view usage;  // "users add NAME [--admin]"
  std::string_view help;   // what it does, for --help
  int (*run)(CliArgs& args, CommandContext& context);
};

// The build, when the caller may read its app. Throws Error "build N: no
// such build" otherwise: whether it exists is not told.
Build ReadableBuild(CommandContext& ctx, int64_t id);

const std::vector<Command>& UsersCommands();
const std::vector<Command>& KeysCommands();
const std::vector<Command>& AppsCommands();
const std::vector<Command>& BuildsCommands();
const std::vector<Command>& LogsCommands();
const std::vector<Command>& RebuildCommands();
const std::vector<Command>& TokensCommands();
const std::vector<Command>& WhoamiCommands();
const std::vector<Command>& AuditCommands();
const std::vector<Command>& CacheCommands();
const std::vector<Command>& PruneCommands();
// `hephyd build`, the one-shot build for CI (not `builds`, which lists them).
const std::vector<Command>& OneShotBuildCommands();

// Commands that open data_dir themselves, run on the host only: `hephyd
// backup` reads it beside a serving hephyd, `hephyd restore` fills an empty
// one (so no store is opened or migrated for them beforehand).
struct DataDirCommand {
  std::string_view name;   // "backup"
  std::string_view usage;  // "backup DIR"
  std::string_view help;
  int (*run)(CliArgs& args, const Config& config, CliStreams io);
};
const std::vector<DataDirCommand>& DataDirCommands();

// Sends `request` (hook protocol packets, the flush included) to the
// running `hephyd serve` over its hook socket, prints each line it answers
// as it comes, and returns 0 or 1 as its final status says. Throws Error
// when serve cannot be reached ("RUNS in `hephyd serve`; is it running
// ...?", `runs` e.g. "rebuilds run") or hangs up before the WHAT finished.
int AskServe(CommandContext& ctx, const std::string& request, std::string_view runs,
             std::string_view what);

// Prints rows under headers in aligned columns, as `docker ps` does.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);
// Prints JSON followed by a newline.
void PrintJson(std::ostream& out, const nlohmann::json& value);

}  // namespace hephy
