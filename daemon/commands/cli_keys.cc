// hephyd keys add | list | remove: users' keys and apps' deploy keys
#include <fstream>
#include <istream>
#include <ostream>
#include <sstream>

#include "commands/cli_commands.h"
#include "hephy/error.h"
#include "hephy/ssh_key.h"

namespace hephy {
namespace {

std::string ReadAll(std::istream& in) {
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The keys in FILE, or on stdin for "-". Over SSH only stdin: a path would
// name a file on hephyd's machine.
std::vector<PublicKey> ReadKeys(CommandContext& ctx, const std::string& file) {
  std::string text;
  if (file == "-") {
    text = ReadAll(ctx.io.in);
  } else {
    if (ctx.caller) {
      throw UsageError("over SSH, keys are read from stdin: ssh ... keys add ... < " + file);
    }
    std::ifstream in(file);
    if (!in) throw Error(file + ": cannot read key file");
    text = ReadAll(in);
  }
  return ParsePublicKeys(text, file == "-" ? "stdin" : file);
}

int AddDeployKeys(CliArgs& args, CommandContext& ctx, const std::string& app) {
  const bool write = args.Flag("--write");
  const bool read = args.Flag("--read");
  const std::string file = args.Optional().value_or("-");
  args.ExpectEnd();
  if (read && write) throw UsageError("--read and --write exclude each other");
  const std::string access = write ? "write" : "read";
  AppFor(ctx, app, AppAccess::kOwner, "add deploy keys to");
  // All keys or none: a bad line or a duplicate adds nothing.
  const auto keys = ReadKeys(ctx, file);
  ctx.store.AddDeployKeys(app, keys, access, ctx.actor);
  for (const auto& key : keys) {
    ctx.store.Audit(
        {ctx.actor, "keys.add", app, "deploy " + access + " " + key.fingerprint, Remote(ctx)});
    ctx.io.out << "added deploy key " << key.fingerprint
               << (key.comment.empty() ? "" : " (" + key.comment + ")") << " to app " << app
               << " with " << access << " access\n";
  }
  return 0;
}

int Add(CliArgs& args, CommandContext& ctx) {
  if (const auto app = args.Option("--deploy")) return AddDeployKeys(args, ctx, *app);
  const std::string user = args.Required("USER");
  const std::string file = args.Optional().value_or("-");
  args.ExpectEnd();
  if (!IsSelfOrAdmin(ctx, user)) RequireAdmin(ctx, "add keys for " + user);
  if (!ctx.store.FindUser(user)) throw Error("no user '" + user + "'");
  // All keys or none: a bad line or a duplicate adds nothing.
  const auto keys = ReadKeys(ctx, file);
  ctx.store.AddKeys(user, keys);
  for (const auto& key : keys) {
    ctx.store.Audit({ctx.actor, "keys.add", user, key.fingerprint, Remote(ctx)});
    ctx.io.out << "added " << key.type << " key " << key.fingerprint
               << (key.comment.empty() ? "" : " (" + key.comment + ")") << " for " << user << "\n";
  }
  return 0;
}

int ListDeployKeys(CommandContext& ctx, const std::string& app, bool json) {
  AppFor(ctx, app, AppAccess::kOwner, "list the deploy keys of");
  const auto keys = ctx.store.ListDeployKeys(app);
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& k : keys) {
      out.push_back({{"app", k.app},
                     {"access", k.access},
                     {"type", k.key.type},
                     {"bits", k.key.bits},
                     {"fingerprint", k.key.fingerprint},
                     {"comment", k.key.comment},
                     {"added_by", k.added_by},
                     {"created_at", k.created_at}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : keys) {
    rows.push_back({k.app, k.access, k.key.type, k.key.fingerprint, k.key.comment, k.added_by});
  }
  PrintTable(ctx.io.out, {"APP", "ACCESS", "TYPE", "FINGERPRINT", "COMMENT", "ADDED BY"}, rows);
  return 0;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const auto app = args.Option("--app");
  auto user = args.Optional();
  args.ExpectEnd();
  if (app) {
    if (user) throw UsageError("give USER or --app, not both");
    return ListDeployKeys(ctx, *app, json);
  }
  user = ListedUser(ctx, user, "keys");
  const auto keys = ctx.store.ListKeys(user);
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& k : keys) {
      out.push_back({{"user", k.user},
                     {"type", k.key.type},
                     {"bits", k.key.bits},
                     {"fingerprint", k.key.fingerprint},
                     {"comment", k.key.comment},
                     {"created_at", k.created_at}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : keys) {
    rows.push_back(
        {k.user, k.key.type, std::to_string(k.key.bits), k.key.fingerprint, k.key.comment});
  }
  PrintTable(ctx.io.out, {"USER", "TYPE", "BITS", "FINGERPRINT", "COMMENT"}, rows);
  return 0;
}

int Remove(CliArgs& args, CommandContext& ctx) {
  const std::string fingerprint = args.Required("FINGERPRINT");
  args.ExpectEnd();
  std::string holder;
  if (const auto key = ctx.store.FindKey(fingerprint)) {
    if (!IsSelfOrAdmin(ctx, key->user)) RequireAdmin(ctx, "remove the keys of " + key->user);
    holder = key->user;
  } else if (const auto deploy = ctx.store.FindDeployKey(fingerprint)) {
    AppFor(ctx, deploy->app, AppAccess::kOwner, "remove deploy keys of");
    holder = "deploy " + deploy->app;
  }
  ctx.store.RemoveKey(fingerprint);  // throws when nobody holds it
  ctx.store.Audit({ctx.actor, "keys.remove", holder, fingerprint, Remote(ctx)});
  ctx.io.out << "removed key " << fingerprint << "\n";
  return 0;
}

}  // namespace

const std::vector<Command>& KeysCommands() {
  static const std::vector<Command> commands = {
      {"keys", "add", "keys add USER [FILE|-] | keys add --deploy APP [--write] [FILE|-]",
       "Adds the OpenSSH public keys in FILE (or on stdin) to USER: one key per\n"
       "line as in ~/.ssh/id_ed25519.pub; blank lines and '#' comments are skipped.\n"
       "Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of 2048 bits or\n"
       "more. A key already registered (to anyone, or as a deploy key) is refused.\n"
       "Keys take effect at once, without restarting the daemon.\n"
       "\n"
       "With --deploy APP the keys become deploy keys of APP, for CI jobs: they may\n"
       "fetch from APP, and with --write also push to it, and do nothing else.\n"
       "For the app's owner and admins.\n"
       "\n"
       "Over SSH, keys are read from stdin only, and a user may add keys for\n"
       "themselves only: ssh -p 2222 git@HOST keys add alice < id_ed25519.pub",
       Add},
      {"keys", "list", "keys list [USER] [--json] | keys list --app APP [--json]",
       "Lists keys, of one user or of all, or the deploy keys of APP. Over SSH a\n"
       "user sees their own keys, and the deploy keys of the apps they own.",
       List},
      {"keys", "remove", "keys remove FINGERPRINT",
       "Removes a key or a deploy key by its fingerprint (SHA256:..., as `keys list`\n"
       "shows it). New connections with it are refused at once. Over SSH: your own\n"
       "keys, and the deploy keys of the apps you own.",
       Remove},
  };
  return commands;
}

}  // namespace hephy
