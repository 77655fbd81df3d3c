#include "cli.h"

#include <cstdlib>
#include <iostream>
#include <optional>

#include "commands/cli_commands.h"
#include "hephy/error.h"
#include "serve.h"
#include "store/data_dir.h"

namespace hephy {
namespace {

constexpr std::string_view kTopHelp = R"(usage: hephyd [--config FILE] COMMAND [ARGS...]

hephyd receives `git push` over SSH and builds container images from it.

Commands:
  serve                                  run the daemon
  users add NAME [--admin]               add a user
  users list [--json]                    list users
  users remove NAME                      remove a user and their keys
  keys add USER [FILE|-]                 add OpenSSH public keys (stdin when no FILE)
  keys add --deploy APP [--write] [FILE|-]
                                         add deploy keys to an app (for CI)
  keys list [USER | --app APP] [--json]  list keys, or an app's deploy keys
  keys remove FINGERPRINT                remove a key
  apps create NAME [--owner USER]        create an app
  apps delete NAME --confirm NAME        delete an app, its repository and builds
  apps list [--json]                     list apps
  apps info APP [--json]                 show an app, its members and deploy keys
  apps grant APP USER [read|write]       give a user access to an app
  apps revoke APP USER                   take a user's access away
  builds list [--app APP] [--limit N] [--json]
                                         list builds, newest first
  builds show ID [--json]                show a build and its platform jobs
  logs BUILD_ID [--platform P] [--follow]
                                         print a build's logs, or follow them
  rebuild [--no-cache] APP [UNIT...]     build units again without a push
  build [DIR] [--app NAME] [--unit UNIT...] [--platforms LIST]
                                         build a local checkout once (CI), no serve needed
  tokens create USER [--name NAME]       make an API token for the HTTP API (shown once)
  tokens create --deploy APP [--write] [--name NAME]
                                         make a deploy token (git over HTTPS, for CI)
  tokens list [USER | --app APP] [--json]
                                         list API and deploy tokens (never the tokens)
  tokens revoke ID                       revoke an API or deploy token
  whoami [--json]                        who you are to hephyd
  audit [--since WHEN] [--limit N] [--json]
                                         print the audit log
  cache list [--json] [APP]              list the layer cache and its size
  cache prune [APP]                      empty the layer cache
  backup DIR | backup --into PARENT [--keep N]
                                         copy data_dir while hephyd serves
  restore DIR                            make an empty data_dir from a backup
  prune [--dry-run] [--json]             remove old builds, logs and images (retention:)

Options:
  --config FILE   configuration file (default: $HEPHY_CONFIG, else built-in defaults)
  --help          show help; `hephyd COMMAND --help` shows a command's help
  --version       print the version

Exit status: 0 success, 1 failure, 2 usage error. See hephyd(1) in docs/.
)";

constexpr std::string_view kSshHelp = R"(usage: ssh -p PORT git@HOST COMMAND [ARGS...]

The same commands as `hephyd` on the server, with your rights: admins may do
everything; a user manages their own keys and the apps they own, reads the
builds of the apps they may read, and rebuilds those they may push to.
Arguments are words separated by spaces ('single' or "double" quotes keep
spaces); nothing is run by a shell.

Commands:
  whoami [--json]                        who you are to hephyd
  apps list|info|create|delete|grant|revoke ...
  keys add|list|remove ...               `keys add` reads the keys from stdin
  tokens create|list|revoke ...          API tokens, and deploy tokens of your apps
  builds list|show ...
  logs BUILD_ID [--platform P] [--follow]
  rebuild [--no-cache] APP [UNIT...]
  cache list|prune [APP]                 an app's layer cache
  users add|list|remove ...              admins only
  audit [--since WHEN] [--limit N] [--json]
                                         admins only
  prune [--dry-run] [--json]             admins only
  help                                   this help

`COMMAND --help` shows a command's help. Push and clone with git as usual.
)";

constexpr std::string_view kServeHelp = R"(usage: hephyd [--config FILE] serve

Runs the daemon in the foreground: the SSH server on ssh.listen
(default 127.0.0.1:2222) and the HTTP API on http.listen (default
127.0.0.1:8080), with repositories, database and host keys in
data_dir (default ./hephy-data). Stops on SIGINT or SIGTERM.
)";

// Started by serve for an SSH client (see CallerFromEnvironment).
bool OverSsh() {
  return std::getenv("HEPHY_SSH_USER") != nullptr || std::getenv("HEPHY_SSH_DEPLOY_KEY") != nullptr;
}

std::vector<const Command*> Group(std::string_view name) {
  std::vector<const Command*> commands;
  for (const auto* group :
       {&UsersCommands(), &KeysCommands(), &AppsCommands(), &BuildsCommands(), &LogsCommands(),
        &RebuildCommands(), &TokensCommands(), &WhoamiCommands(), &AuditCommands(),
        &CacheCommands(), &PruneCommands(), &OneShotBuildCommands()}) {
    for (const auto& command : *group) {
      if (command.group == name) commands.push_back(&command);
    }
  }
  return commands;
}

void PrintGroupHelp(std::ostream& out, std::string_view group,
                    const std::vector<const Command*>& commands) {
  out << "usage: hephyd " << group << " VERB [ARGS...]\n\n";
  for (const auto* command : commands) {
    out << "  hephyd " << command->usage << "\n";
  }
  out << "\nRun `hephyd " << group << " VERB --help` for a verb's help.\n";
}

int Dispatch(std::vector<std::string> args, CliStreams io) {
  std::optional<std::filesystem::path> config_path;
  size_t i = 0;
  // Global options come before the command.
  while (i < args.size() && args[i].starts_with("-")) {
    if (args[i] == "--help" || args[i] == "-h") {
      io.out << kTopHelp;
      return 0;
    }
    if (args[i] == "--version") {
      io.out << "hephyd " << HEPHY_VERSION << "\n";
      return 0;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[i + 1];
      i += 2;
    } else if (args[i].starts_with("--config=")) {
      config_path = args[i].substr(9);
      ++i;
    } else {
      throw UsageError("unknown option '" + args[i] + "'");
    }
  }
  if (i == args.size()) throw UsageError("missing command");
  const std::string group = args[i++];

  // Over SSH (see CallerFromEnvironment) the caller's own rights apply, and
  // neither the daemon nor a build of the server's files is theirs to start.
  const bool over_ssh =
      std::getenv("HEPHY_SSH_USER") != nullptr || std::getenv("HEPHY_SSH_DEPLOY_KEY") != nullptr;
  if (over_ssh &&
      (group == "serve" || group == "build" || group == "backup" || group == "restore")) {
    throw UsageError("unknown command '" + group + "'");
  }
  if (over_ssh && group == "help") {
    io.out << kSshHelp;
    return 0;
  }
  if (group == "serve") {
    CliArgs rest({args.begin() + i, args.end()});
    if (rest.Flag("--help") || rest.Flag("-h")) {
      io.out << kServeHelp;
      return 0;
    }
    rest.ExpectEnd();
    return Serve(LoadConfig(config_path));
  }
  if (group == "help") {
    io.out << kTopHelp;
    return 0;
  }
  for (const auto& command : DataDirCommands()) {
    if (group != command.name) continue;
    CliArgs rest({args.begin() + i, args.end()});
    if (rest.Flag("--help") || rest.Flag("-h")) {
      io.out << "usage: hephyd " << command.usage << "\n\n" << command.help << "\n";
      return 0;
    }
    try {
      return command.run(rest, LoadConfig(config_path), io);
    } catch (const UsageError& e) {
      io.err << "hephyd " << group << ": " << e.what() << "\n"
             << "usage: hephyd " << command.usage << "\n";
      return 2;
    }
  }

  const auto commands = Group(group);
  if (commands.empty()) throw UsageError("unknown command '" + group + "'");
  const Command* command = nullptr;
  std::string name = group;  // as errors name the command: "users add", "logs"
  if (commands.size() == 1 && commands[0]->verb.empty()) {
    command = commands[0];  // a group of one command without a verb: `logs BUILD_ID`
  } else {
    if (i == args.size() || args[i] == "--help" || args[i] == "-h") {
      PrintGroupHelp(i == args.size() ? io.err : io.out, group, commands);
      return i == args.size() ? 2 : 0;
    }
    const std::string verb = args[i++];
    for (const auto* c : commands) {
      if (c->verb == verb) command = c;
    }
    if (command == nullptr) throw UsageError("unknown command '" + group + " " + verb + "'");
    name += " " + verb;
  }

  CliArgs rest({args.begin() + i, args.end()});
  if (rest.Flag("--help") || rest.Flag("-h")) {
    io.out << "usage: hephyd " << command->usage << "\n\n" << command->help << "\n";
    return 0;
  }
  const Config config = LoadConfig(config_path);
  MakePrivateDirectory(config.data_dir);
  Store store(config.DatabasePath());
  store.Migrate();
  CommandContext context{config, store, io, "cli", CallerFromEnvironment(store)};
  context.actor = context.caller ? Who(context) : "cli";
  // A deploy key exists for git; it may only ask who it is.
  if (context.caller && context.caller->deploy_key && group != "whoami") {
    throw Error(Who(context) + " may run git and whoami only");
  }
  try {
    return command->run(rest, context);
  } catch (const UsageError& e) {
    io.err << "hephyd " << name << ": " << e.what() << "\n"
           << "usage: hephyd " << command->usage << "\n";
    return 2;
  }
}

}  // namespace

int RunCli(const std::vector<std::string>& args, CliStreams io) {
  try {
    return Dispatch(args, io);
  } catch (const UsageError& e) {
    io.err << "hephyd: " << e.what() << "\nRun '" << (OverSsh() ? "help" : "hephyd --help")
           << "' for usage.\n";
    return 2;
  } catch (const std::exception& e) {
    io.err << "hephyd: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace hephy
