// hephyd whoami: who the caller is, as hephyd sees them
#include <ostream>

#include "commands/cli_commands.h"

namespace hephy {
namespace {

int Whoami(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  args.ExpectEnd();
  nlohmann::json who;
  if (!ctx.caller) {
    who = {{"kind", "host"}, {"name", "cli"}, {"admin", true}};
  } else if (ctx.caller->user) {
    who = {{"kind", "user"},
           {"name", ctx.caller->user->name},
           {"admin", ctx.caller->user->admin},
           {"key", ctx.caller->key_fingerprint},
           {"remote", ctx.caller->remote}};
  } else {
    const DeployKey& key = *ctx.caller->deploy_key;
    who = {{"kind", "deploy key"},
           {"app", key.app},
           {"access", key.access},
           {"key", ctx.caller->key_fingerprint},
           {"remote", ctx.caller->remote}};
  }
  if (json) {
    PrintJson(ctx.io.out, who);
    return 0;
  }
  std::ostream& out = ctx.io.out;
  if (!ctx.caller) {
    out << "the host's command line (every right)\n";
  } else if (ctx.caller->user) {
    out << ctx.caller->user->name << (ctx.caller->user->admin ? " (admin)" : "") << "\n"
        << "key:    " << ctx.caller->key_fingerprint << "\n"
        << "from:   " << ctx.caller->remote << "\n";
  } else {
    out << "deploy key of app " << ctx.caller->deploy_key->app << " ("
        << ctx.caller->deploy_key->access << " access)\n"
        << "key:    " << ctx.caller->key_fingerprint << "\n"
        << "from:   " << ctx.caller->remote << "\n";
  }
  return 0;
}

}  // namespace

const std::vector<Command>& WhoamiCommands() {
  static const std::vector<Command> commands = {
      {"whoami", "", "whoami [--json]",
       "Shows who you are to hephyd: over SSH the user (and whether an admin) or\n"
       "the deploy key and its app, the key's fingerprint and your address.",
       Whoami},
  };
  return commands;
}

}  // namespace hephy
