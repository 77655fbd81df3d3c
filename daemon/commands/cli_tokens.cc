// hephyd tokens create | list | revoke
#include <algorithm>
#include <ostream>

#include "api/api_tokens.h"
#include "commands/cli_commands.h"
#include "hephy/error.h"

namespace hephy {
namespace {

std::string Described(const ApiToken& token) {
  return "token " + std::to_string(token.id) + (token.name.empty() ? "" : " (" + token.name + ")");
}

int Create(CliArgs& args, CommandContext& ctx) {
  const std::string name = args.Option("--name").value_or("");
  const std::string user = args.Required("USER");
  args.ExpectEnd();
  if (!IsSelfOrAdmin(ctx, user)) RequireAdmin(ctx, "make tokens for " + user);
  const std::string secret = NewApiToken();
  const ApiToken token = ctx.store.CreateApiToken(user, name, HashApiToken(secret));
  ctx.store.Audit({ctx.actor, "tokens.create", user, Described(token), Remote(ctx)});
  // The token alone on standard output, for `TOKEN=$(hephyd tokens create ...)`.
  ctx.io.out << secret << "\n";
  ctx.io.err << "created " << Described(token) << " for " << user
             << "; it is shown only this once: hephyd keeps only its SHA-256\n";
  return 0;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  auto user = args.Optional();
  args.ExpectEnd();
  user = ListedUser(ctx, user, "tokens");
  const auto tokens = ctx.store.ListApiTokens(user);
  const auto null_if_empty = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& t : tokens) {
      out.push_back({{"id", t.id},
                     {"user", t.user},
                     {"name", null_if_empty(t.name)},
                     {"created_at", t.created_at},
                     {"last_used_at", null_if_empty(t.last_used_at)}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tokens) {
    rows.push_back({std::to_string(t.id), t.user, t.name.empty() ? "-" : t.name, t.created_at,
                    t.last_used_at.empty() ? "-" : t.last_used_at});
  }
  PrintTable(ctx.io.out, {"ID", "USER", "NAME", "CREATED", "LAST USED"}, rows);
  return 0;
}

int Revoke(CliArgs& args, CommandContext& ctx) {
  const int64_t id = ParsePositive("ID", args.Required("ID"));
  args.ExpectEnd();
  if (!IsAdmin(ctx)) {
    const auto tokens = ctx.store.ListApiTokens(std::nullopt);
    const auto it = std::find_if(tokens.begin(), tokens.end(),
                                 [&](const ApiToken& token) { return token.id == id; });
    // Another user's token is reported as missing: its existence is theirs.
    if (it == tokens.end() || !IsSelfOrAdmin(ctx, it->user)) {
      throw Error("no token " + std::to_string(id));
    }
  }
  const ApiToken token = ctx.store.RevokeApiToken(id);
  ctx.store.Audit({ctx.actor, "tokens.revoke", token.user, Described(token), Remote(ctx)});
  ctx.io.out << "revoked " << Described(token) << " of " << token.user << "\n";
  return 0;
}

}  // namespace

const std::vector<Command>& TokensCommands() {
  static const std::vector<Command> commands = {
      {"tokens", "create", "tokens create USER [--name NAME]",
       "Makes an API token for USER and prints it, alone on standard output. It is\n"
       "shown only this once: hephyd keeps only its SHA-256. A request to the HTTP\n"
       "API with `Authorization: Bearer TOKEN` has USER's rights (see hephyd(1),\n"
       "HTTP API).\n"
       "\n"
       "  --name NAME   what the token is for (e.g. ci, grafana), up to 64\n"
       "                characters; shown by `tokens list`",
       Create},
      {"tokens", "list", "tokens list [USER] [--json]",
       "Lists API tokens, of one user or of all: ID, USER, NAME, CREATED and LAST\n"
       "USED (updated at most once a minute). Never the tokens themselves.\n"
       "\n"
       "  --json   a JSON array of {id, user, name, created_at, last_used_at}",
       List},
      {"tokens", "revoke", "tokens revoke ID",
       "Deletes API token ID (see `tokens list`). Requests bearing it are refused\n"
       "from then on.",
       Revoke},
  };
  return commands;
}

}  // namespace hephy
