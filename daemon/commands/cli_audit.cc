// hephyd audit
#include <algorithm>
#include <cstdint>
#include <ostream>

#include "commands/cli_commands.h"
#include "hephy/error.h"
#include "util/time_spec.h"

namespace hephy {
namespace {

// The store's "2025-10-14T10:00:00.123Z" as every command prints times.
std::string PrintedTime(const std::string& at) {
  std::string text = at.substr(0, 19);
  if (text.size() > 10 && text[10] == 'T') text[10] = ' ';
  return text;
}

nlohmann::json NullIfEmpty(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

int Audit(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const auto since_text = args.Option("--since");
  const auto limit_text = args.Option("--limit");
  args.ExpectEnd();
  RequireAdmin(ctx, "read the audit log");
  std::optional<std::chrono::system_clock::time_point> since;
  if (since_text) {
    try {
      since = ParseSince(*since_text, std::chrono::system_clock::now());
    } catch (const Error& e) {
      throw UsageError(std::string("--since: ") + e.what());
    }
  }
  // --since asks for a period: all of it, unless --limit says otherwise.
  const int64_t limit = limit_text ? ParsePositive("--limit", *limit_text) : since ? 0 : 50;
  const auto entries =
      ctx.store.ListAudit(since, static_cast<int>(std::min<int64_t>(limit, INT32_MAX)));
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"id", e.id},
                     {"at", PrintedTime(e.at)},
                     {"actor", e.actor},
                     {"action", e.action},
                     {"target", NullIfEmpty(e.target)},
                     {"detail", NullIfEmpty(e.detail)},
                     {"remote", NullIfEmpty(e.remote)}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  const auto dash = [](const std::string& text) { return text.empty() ? "-" : text; };
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : entries) {
    rows.push_back(
        {PrintedTime(e.at), e.actor, e.action, dash(e.target), dash(e.detail), dash(e.remote)});
  }
  PrintTable(ctx.io.out, {"AT", "ACTOR", "ACTION", "TARGET", "DETAIL", "REMOTE"}, rows);
  return 0;
}

}  // namespace

const std::vector<Command>& AuditCommands() {
  static const std::vector<Command> commands = {
      {"audit", "", "audit [--since WHEN] [--limit N] [--json]",
       "Prints the audit log, oldest first (the newest entry is the last line):\n"
       "AT (UTC), ACTOR (a user, or cli for the command line on the host), ACTION\n"
       "(users.add, keys.remove, apps.create, push, ...), TARGET (the user, key or\n"
       "app acted on), DETAIL and REMOTE (the client's address; - on the host).\n"
       "A push's DETAIL holds the key it came with, its ref updates and how it\n"
       "ended: `key SHA256:...; refs/heads/main 1a2b3c4..5d6e7f8; accepted`, or\n"
       "`rejected: REASON`, or `denied: REASON` when git never started.\n"
       "Over SSH, admins only.\n"
       "\n"
       "  --since WHEN   only entries from WHEN on: an RFC 3339 time\n"
       "                 (2025-10-14T10:00:00Z, 2025-10-14T12:00:00+02:00), a date\n"
       "                 (2025-10-14, from its midnight UTC) or a duration back from\n"
       "                 now (24h, 7d, 1h30m)\n"
       "  --limit N      at most the N newest entries (default 50 without --since,\n"
       "                 every entry since WHEN with it)\n"
       "  --json         a JSON array of {id, at, actor, action, target, detail,\n"
       "                 remote}, oldest first; empty fields are null",
       Audit},
  };
  return commands;
}

}  // namespace hephy
