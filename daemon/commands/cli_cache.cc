// hephyd cache list | prune
#include <ostream>

#include "build/image_tags.h"
#include "commands/cli_commands.h"
#include "executors/layer_cache.h"
#include "hephy/error.h"
#include "util/disk_space.h"
#include "util/names.h"

namespace hephy {
namespace {

LayerCache CacheOf(const Config& config) {
  return LayerCache(config.LayerCacheDir(),
                    LayerCacheMaxBytes(config.builder.cache, config.data_dir));
}

// Whose cache the caller may see (or prune, with `needed` kWrite): APP's
// when they have that on it; every app's only for the host and admins.
std::string CheckedApp(CommandContext& ctx, const std::optional<std::string>& app, AppAccess needed,
                       std::string_view action) {
  if (!app) {
    RequireAdmin(ctx, std::string(action) + " of every app");
    return "";
  }
  ValidateAppName(*app);
  if (!ctx.caller && !ctx.store.FindApp(*app)) return *app;  // an app deleted on the host
  AppFor(ctx, *app, needed, action);
  return *app;
}

// Kaniko keeps its cache in the registry, which hephyd neither measures nor prunes.
bool SaidKanikoCache(CommandContext& ctx, const std::optional<std::string>& app) {
  if (ctx.config.builder.executor == "buildah") return false;
  ctx.io.out << "builder.executor " << ctx.config.builder.executor
             << " keeps the layer cache in the registry, in " << ctx.config.registry.url << "/"
             << CacheRepositoryFor(ctx.config.registry.repository, app ? *app : "APP")
             << "; the registry's own tools measure and prune it\n";
  return true;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const auto asked = args.Optional();
  args.ExpectEnd();
  const std::string app = CheckedApp(ctx, asked, AppAccess::kRead, "list the layer cache");
  if (SaidKanikoCache(ctx, asked)) return 0;
  const LayerCache cache = CacheOf(ctx.config);
  const auto entries = cache.List(app);
  uint64_t total = 0;
  for (const auto& entry : entries) total += entry.bytes;
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& entry : entries) {
      out.push_back({{"app", entry.key.app},
                     {"unit", entry.key.unit},
                     {"platform", entry.key.platform},
                     {"bytes", entry.bytes},
                     {"last_used", Rfc3339(entry.last_used)},
                     {"in_use", entry.in_use}});
    }
    PrintJson(ctx.io.out, {{"entries", out}, {"bytes", total}, {"max_bytes", cache.max_bytes()}});
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& entry : entries) {
    rows.push_back({entry.key.app, entry.key.unit, entry.key.platform, FormatBytes(entry.bytes),
                    Rfc3339(entry.last_used) + (entry.in_use ? " (in use)" : "")});
  }
  if (!rows.empty()) PrintTable(ctx.io.out, {"APP", "UNIT", "PLATFORM", "SIZE", "LAST USED"}, rows);
  ctx.io.out << entries.size() << (entries.size() == 1 ? " entry, " : " entries, ")
             << FormatBytes(total)
             << (app.empty()
                     ? " of at most " + FormatBytes(cache.max_bytes()) + " (builder.cache.max_size)"
                     : "")
             << (ctx.config.builder.cache.enabled ? "" : "; builder.cache.enabled is false")
             << "\n";
  return 0;
}

int Prune(CliArgs& args, CommandContext& ctx) {
  const auto asked = args.Optional();
  args.ExpectEnd();
  const std::string app = CheckedApp(ctx, asked, AppAccess::kWrite, "prune the layer cache");
  if (SaidKanikoCache(ctx, asked)) return 0;
  LayerCache cache = CacheOf(ctx.config);
  const auto pruned = cache.Prune(app);
  uint64_t freed = 0;
  for (const auto& entry : pruned.removed) {
    freed += entry.bytes;
    ctx.io.out << "removed " << entry.key.Name() << " (" << FormatBytes(entry.bytes) << ")\n";
  }
  for (const auto& entry : pruned.busy) {
    ctx.io.out << "kept " << entry.key.Name() << ": a build is using it\n";
  }
  ctx.io.out << "freed " << FormatBytes(freed) << "\n";
  ctx.store.Audit({ctx.actor, "cache.prune", app,
                   std::to_string(pruned.removed.size()) + " entries, " + FormatBytes(freed),
                   Remote(ctx)});
  return pruned.busy.empty() ? 0 : 1;
}

}  // namespace

const std::vector<Command>& CacheCommands() {
  static const std::vector<Command> commands = {
      {"cache", "list", "cache list [--json] [APP]",
       "Lists the buildah executor's layer cache: one entry per app, unit and\n"
       "platform, with its size and when a build last used it; every app's\n"
       "(host and admins), or APP's (who may read it). Entries are removed least\n"
       "recently used first when together they pass builder.cache.max_size.",
       List},
      {"cache", "prune", "cache prune [APP]",
       "Removes the layer cache of every app (host and admins), or of APP (who\n"
       "may push to it). The next build of each starts from nothing, pulling its\n"
       "base images again. Entries a build is using are kept and said so (exit\n"
       "status 1). To build once without the cache instead: `git push -o\n"
       "no-cache` or `hephyd rebuild --no-cache APP`.",
       Prune},
  };
  return commands;
}

}  // namespace hephy
