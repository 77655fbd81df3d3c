// hephyd prune [--dry-run] [--json]
#include "commands/cli_commands.h"
#include "hephy/hook_protocol.h"

namespace hephy {
namespace {

int Prune(CliArgs& args, CommandContext& ctx) {
  const bool dry_run = args.Flag("--dry-run");
  const bool json = args.Flag("--json");
  args.ExpectEnd();
  RequireAdmin(ctx, "prune");
  // The running hephyd prunes: it alone holds the embedded registry's
  // credentials, and can hold builds off while the registry collects its
  // garbage.
  std::string request = hook::Packet("user " + ctx.actor) + hook::Packet("trigger prune");
  if (dry_run) request += hook::Packet("option dry-run");
  if (json) request += hook::Packet("option json");
  if (!Remote(ctx).empty()) request += hook::Packet("option remote=" + Remote(ctx));
  request += hook::kFlush;
  return AskServe(ctx, request, "pruning runs", "prune");
}

}  // namespace

const std::vector<Command>& PruneCommands() {
  static const std::vector<Command> commands = {
      {"prune", "", "prune [--dry-run] [--json]",
       "Removes what retention (config retention:) lets go, printing one line per\n"
       "thing and a summary; the running `hephyd serve` does it (and does it\n"
       "daily by itself, retention.daily). Admins only.\n"
       "\n"
       "  - build records, with their logs, both older than retention.builds_days\n"
       "    and not among their app's retention.builds_keep newest; never a\n"
       "    queued or running build;\n"
       "  - scratch directories (data_dir/builds) no running build owns, and logs\n"
       "    of builds no longer recorded;\n"
       "  - dated images (UNIT-YYYYMMDD-SHA) beyond each unit's\n"
       "    retention.images_keep newest, with their per-architecture manifests and\n"
       "    tags; never an image an additional tag (latest, a version) names;\n"
       "  - then, for the embedded registry, the blobs no manifest references:\n"
       "    new builds wait while it collects its garbage.\n"
       "\n"
       "--dry-run  say what would go and change nothing\n"
       "--json     print the lines and counts as one JSON document\n"
       "\n"
       "Each prune writes an audit row (`prune`) with what it freed. Exit status:\n"
       "0, or 1 when something could not be removed or hephyd is not running.",
       Prune},
  };
  return commands;
}

}  // namespace hephy
