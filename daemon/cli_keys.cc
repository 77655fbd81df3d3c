// hephyd keys add | list | remove
#include <fstream>
#include <istream>
#include <ostream>
#include <sstream>

#include "cli_commands.h"
#include "hephy/error.h"
#include "hephy/ssh_key.h"

namespace hephy {
namespace {

std::string ReadAll(std::istream& in) {
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int Add(CliArgs& args, CommandContext& ctx) {
  const std::string user = args.Required("USER");
  const std::string file = args.Optional().value_or("-");
  args.ExpectEnd();
  if (!ctx.store.FindUser(user)) throw Error("no user '" + user + "'");

  std::string text;
  if (file == "-") {
    text = ReadAll(ctx.io.in);
  } else {
    std::ifstream in(file);
    if (!in) throw Error(file + ": cannot read key file");
    text = ReadAll(in);
  }
  // All keys or none: a bad line or a duplicate adds nothing.
  const auto keys = ParsePublicKeys(text, file == "-" ? "stdin" : file);
  ctx.store.AddKeys(user, keys);
  for (const auto& key : keys) {
    ctx.store.Audit({ctx.actor, "keys.add", user, key.fingerprint, ""});
    ctx.io.out << "added " << key.type << " key " << key.fingerprint
               << (key.comment.empty() ? "" : " (" + key.comment + ")") << " for " << user << "\n";
  }
  return 0;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const auto user = args.Optional();
  args.ExpectEnd();
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
  ctx.store.RemoveKey(fingerprint);
  ctx.store.Audit({ctx.actor, "keys.remove", "", fingerprint, ""});
  ctx.io.out << "removed key " << fingerprint << "\n";
  return 0;
}

}  // namespace

const std::vector<Command>& KeysCommands() {
  static const std::vector<Command> commands = {
      {"keys", "add", "keys add USER [FILE|-]",
       "Adds the OpenSSH public keys in FILE (or on stdin) to USER: one key per\n"
       "line as in ~/.ssh/id_ed25519.pub; blank lines and '#' comments are skipped.\n"
       "Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of 2048 bits or\n"
       "more. A key already registered (to anyone) is refused. Keys take effect at\n"
       "once, without restarting the daemon.",
       Add},
      {"keys", "list", "keys list [USER] [--json]", "Lists keys, of one user or of all.", List},
      {"keys", "remove", "keys remove FINGERPRINT",
       "Removes a key by its fingerprint (SHA256:..., as `keys list` shows it). New\n"
       "connections with it are refused at once.",
       Remove},
  };
  return commands;
}

}  // namespace hephy
