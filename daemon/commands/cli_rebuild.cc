// hephyd rebuild APP [UNIT...]
#include <pwd.h>
#include <unistd.h>

#include "commands/cli_commands.h"
#include "hephy/error.h"
#include "hephy/hook_protocol.h"
#include "util/names.h"

namespace hephy {
namespace {

// Who asks on the host, for the build record: the login name of the user
// running the CLI.
std::string CallerName() {
  if (const passwd* entry = getpwuid(getuid())) return entry->pw_name;
  return "uid " + std::to_string(getuid());
}

int Rebuild(CliArgs& args, CommandContext& ctx) {
  const bool no_cache = args.Flag("--no-cache");
  const std::string app = args.Required("APP");
  std::vector<std::string> units;
  while (auto unit = args.Optional()) units.push_back(*unit);
  args.ExpectEnd();
  ValidateAppName(app);
  AppFor(ctx, app, AppAccess::kWrite, "rebuild");

  // The running hephyd builds, so that its limits (one build per app,
  // builder.max_jobs) hold for rebuilds too.
  std::string request = hook::Packet("app " + app) +
                        hook::Packet("user " + (ctx.caller ? Who(ctx) : CallerName())) +
                        hook::Packet("trigger manual");
  if (no_cache) request += hook::Packet("option no-cache");
  for (const auto& unit : units) request += hook::Packet("unit " + unit);
  request += hook::kFlush;

  return AskServe(ctx, request, "rebuilds run", "rebuild");
}

}  // namespace

const std::vector<Command>& RebuildCommands() {
  static const std::vector<Command> commands = {
      {"rebuild", "", "rebuild [--no-cache] APP [UNIT...]",
       "Builds units of APP again from the head of its first build branch\n"
       "(builder.branches), without a push: every unit, or the UNITs named, and\n"
       "the units that depend on them. The running `hephyd serve` builds them, as\n"
       "for a push (same tags, same limits), and the build log is printed here as\n"
       "it happens. The builds are recorded with the trigger `manual`.\n"
       "\n"
       "--no-cache  reuse no layer of earlier builds and pull every base image\n"
       "            again (as scheduled rebuilds do), e.g. for fresh packages; the\n"
       "            new layers are kept for later builds\n"
       "\n"
       "Exit status: 0 when every unit was built, 1 when one failed, a unit is\n"
       "unknown, or hephyd is not running.",
       Rebuild},
  };
  return commands;
}

}  // namespace hephy
