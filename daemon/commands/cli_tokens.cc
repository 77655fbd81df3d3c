// hephyd tokens create | list | revoke: users' API tokens and apps' deploy
// tokens
#include <algorithm>
#include <ostream>

#include "api/api_tokens.h"
#include "commands/cli_commands.h"
#include "hephy/error.h"

namespace hephy {
namespace {

bool IsDeploy(const ApiToken& token) { return !token.app.empty(); }

// "token 3 (laptop)", "deploy token 4 (ci)".
std::string Described(const ApiToken& token) {
  return std::string(IsDeploy(token) ? "deploy " : "") + "token " + std::to_string(token.id) +
         (token.name.empty() ? "" : " (" + token.name + ")");
}

// Whose it is: "alice", "app web".
std::string Holder(const ApiToken& token) {
  return IsDeploy(token) ? "app " + token.app : token.user;
}

// For the audit log: the user, or the app as for deploy keys.
std::string Target(const ApiToken& token) { return IsDeploy(token) ? token.app : token.user; }

std::string AuditDetail(const ApiToken& token) {
  if (!IsDeploy(token)) return Described(token);
  return "deploy " + token.access + " token " + std::to_string(token.id) +
         (token.name.empty() ? "" : " (" + token.name + ")");
}

// Who may make, list and revoke an app's deploy tokens: as for its deploy
// keys, its owner and admins.
bool OwnsApp(CommandContext& ctx, const std::string& name) {
  if (IsAdmin(ctx)) return true;
  const auto app = ctx.store.FindApp(name);
  return app && AccessTo(ctx, *app) >= AppAccess::kOwner;
}

int CreateDeploy(CliArgs& args, CommandContext& ctx, const std::string& app,
                 const std::string& name) {
  const bool write = args.Flag("--write");
  const bool read = args.Flag("--read");
  args.ExpectEnd();
  if (read && write) throw UsageError("--read and --write exclude each other");
  const std::string access = write ? "write" : "read";
  AppFor(ctx, app, AppAccess::kOwner, "add deploy tokens to");
  const std::string secret = NewApiToken();
  const ApiToken token = ctx.store.CreateDeployToken(app, access, name, HashApiToken(secret));
  ctx.store.Audit({ctx.actor, "tokens.create", app, AuditDetail(token), Remote(ctx)});
  ctx.io.out << secret << "\n";
  ctx.io.err << "created " << Described(token) << " for app " << app << " with " << access
             << " access; it is shown only this once: hephyd keeps only its SHA-256\n"
             << "git over HTTP(S) takes it as the password, with any user name: git clone "
                "https://deploy:TOKEN@HOST/"
             << app << ".git\n";
  return 0;
}

int Create(CliArgs& args, CommandContext& ctx) {
  const std::string name = args.Option("--name").value_or("");
  if (const auto app = args.Option("--deploy")) return CreateDeploy(args, ctx, *app, name);
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

// The tokens a listing shows: of `user`, of `app`, or, with neither, all for
// the host and admins and the caller's own and those of the apps they own
// for anyone else.
std::vector<ApiToken> Listed(CommandContext& ctx, const std::optional<std::string>& user,
                             const std::optional<std::string>& app) {
  if (app) {
    AppFor(ctx, *app, AppAccess::kOwner, "list the deploy tokens of");
    auto tokens = ctx.store.ListApiTokens(std::nullopt);
    std::erase_if(tokens, [&](const ApiToken& t) { return t.app != *app; });
    return tokens;
  }
  const auto listed = ListedUser(ctx, user, "tokens");
  if (listed && !user && ctx.caller && ctx.caller->user) {
    auto tokens = ctx.store.ListApiTokens(std::nullopt);
    std::erase_if(tokens, [&](const ApiToken& t) {
      return IsDeploy(t) ? !OwnsApp(ctx, t.app) : t.user != *listed;
    });
    return tokens;
  }
  return ctx.store.ListApiTokens(listed);
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const auto app = args.Option("--app");
  const auto user = args.Optional();
  args.ExpectEnd();
  if (app && user) throw UsageError("give USER or --app, not both");
  const auto tokens = Listed(ctx, user, app);
  const auto null_if_empty = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& t : tokens) {
      out.push_back({{"id", t.id},
                     {"kind", IsDeploy(t) ? "deploy" : "user"},
                     {"user", null_if_empty(t.user)},
                     {"app", null_if_empty(t.app)},
                     {"access", null_if_empty(t.access)},
                     {"name", null_if_empty(t.name)},
                     {"created_at", t.created_at},
                     {"last_used_at", null_if_empty(t.last_used_at)}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tokens) {
    rows.push_back({std::to_string(t.id), Holder(t), t.access.empty() ? "-" : t.access,
                    t.name.empty() ? "-" : t.name, t.created_at,
                    t.last_used_at.empty() ? "-" : t.last_used_at});
  }
  PrintTable(ctx.io.out, {"ID", "USER/APP", "ACCESS", "NAME", "CREATED", "LAST USED"}, rows);
  return 0;
}

int Revoke(CliArgs& args, CommandContext& ctx) {
  const int64_t id = ParsePositive("ID", args.Required("ID"));
  args.ExpectEnd();
  if (!IsAdmin(ctx)) {
    const auto tokens = ctx.store.ListApiTokens(std::nullopt);
    const auto it = std::find_if(tokens.begin(), tokens.end(),
                                 [&](const ApiToken& token) { return token.id == id; });
    // Another's token is reported as missing: its existence is theirs. Who
    // may read its app is told why, as for the app's deploy keys.
    if (it == tokens.end()) throw Error("no token " + std::to_string(id));
    if (IsDeploy(*it)) {
      const auto app = ctx.store.FindApp(it->app);
      const AppAccess have = app ? AccessTo(ctx, *app) : AppAccess::kNone;
      if (have < AppAccess::kRead) throw Error("no token " + std::to_string(id));
      RequireAccess(have, AppAccess::kOwner, Who(ctx), "revoke deploy tokens of", it->app);
    } else if (!IsSelfOrAdmin(ctx, it->user)) {
      throw Error("no token " + std::to_string(id));
    }
  }
  const ApiToken token = ctx.store.RevokeApiToken(id);
  ctx.store.Audit({ctx.actor, "tokens.revoke", Target(token), AuditDetail(token), Remote(ctx)});
  ctx.io.out << "revoked " << Described(token) << " of " << Holder(token) << "\n";
  return 0;
}

}  // namespace

const std::vector<Command>& TokensCommands() {
  static const std::vector<Command> commands = {
      {"tokens", "create",
       "tokens create USER [--name NAME] | tokens create --deploy APP [--write] [--name NAME]",
       "Makes an API token for USER and prints it, alone on standard output. It is\n"
       "shown only this once: hephyd keeps only its SHA-256. A request to the HTTP\n"
       "API with `Authorization: Bearer TOKEN` has USER's rights (see hephyd(1),\n"
       "HTTP API).\n"
       "\n"
       "With --deploy APP it makes a deploy token of APP instead, the HTTPS\n"
       "counterpart of a deploy key, for CI jobs: git over HTTP(S) takes it as\n"
       "the password, with any user name, and may fetch from APP, and with\n"
       "--write also push to it, and do nothing else (not the HTTP API):\n"
       "git clone https://deploy:TOKEN@HOST/APP.git. For the app's owner and\n"
       "admins.\n"
       "\n"
       "  --name NAME   what the token is for (e.g. ci, grafana), up to 64\n"
       "                characters; shown by `tokens list`\n"
       "  --write       a deploy token that may push too (default: fetch only)",
       Create},
      {"tokens", "list", "tokens list [USER] [--json] | tokens list --app APP [--json]",
       "Lists API tokens, of one user or of all, or the deploy tokens of APP: ID,\n"
       "USER/APP (`app APP` for a deploy token), ACCESS (a deploy token's read or\n"
       "write), NAME, CREATED and LAST USED (updated at most once a minute). Never\n"
       "the tokens themselves. All of them lists users' tokens and deploy tokens;\n"
       "USER only that user's. Over SSH a user sees their own tokens and the\n"
       "deploy tokens of the apps they own.\n"
       "\n"
       "  --app APP   the deploy tokens of APP, for its owner and admins\n"
       "  --json      a JSON array of {id, kind (user or deploy), user, app,\n"
       "              access, name, created_at, last_used_at}",
       List},
      {"tokens", "revoke", "tokens revoke ID",
       "Deletes token ID, a user's or a deploy token (see `tokens list`). Requests\n"
       "bearing it are refused from then on. Over SSH: your own tokens, and the\n"
       "deploy tokens of the apps you own.",
       Revoke},
  };
  return commands;
}

}  // namespace hephy
