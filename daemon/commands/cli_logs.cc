// hephyd logs BUILD_ID [--platform P] [--follow]
#include <ostream>

#include "build/build_log_reader.h"
#include "commands/cli_commands.h"
#include "hephy/error.h"

namespace hephy {
namespace {

int Logs(CliArgs& args, CommandContext& ctx) {
  const bool follow = args.Flag("--follow") || args.Flag("-f");
  const auto platform = args.Option("--platform");
  const int64_t id = ParsePositive("BUILD_ID", args.Required("BUILD_ID"));
  args.ExpectEnd();
  const auto build = ReadableBuild(ctx, id);

  BuildLogReader reader(build, platform);
  const auto print = [&](std::string_view line) { ctx.io.out << line << '\n'; };
  if (follow && !IsTerminalBuildStatus(build.status)) {
    // Standard output gone (`| head`): nobody is left to follow for.
    const bool followed = reader.Follow(ctx.store, print, [&] {
      ctx.io.out.flush();
      return static_cast<bool>(ctx.io.out);
    });
    if (!followed) return 0;
  } else {
    reader.ReadAll(print);
  }
  // A missing log is worth a word but is no failure: a job that never started
  // has none, and logs may have been cleaned up.
  for (const auto& note : reader.MissingLogs()) ctx.io.err << "hephyd: note: " << note << "\n";
  return 0;
}

}  // namespace

const std::vector<Command>& LogsCommands() {
  static const std::vector<Command> commands = {
      {"logs", "", "logs BUILD_ID [--platform P] [--follow]",
       "Prints the stored logs of build BUILD_ID (see `hephyd builds list`). A\n"
       "build has one log per platform job. With several jobs, each line starts\n"
       "with its platform, `[linux/arm64] STEP 2/5: ...`, as the pusher saw it,\n"
       "and the jobs' logs are printed one after the other. A job without a log\n"
       "file (it never started, or the file was removed) gets a note on standard\n"
       "error. The exit status is 0 whether the build succeeded or not.\n"
       "\n"
       "  --platform P   only the log of platform P (e.g. linux/arm64), its lines\n"
       "                 as the build printed them, without the prefix\n"
       "  -f, --follow   while the build is queued or running, keep printing lines\n"
       "                 as they are written, the jobs' lines interleaved as they\n"
       "                 come, and exit once the build has finished and every line\n"
       "                 is printed. For a finished build, the same as without it.",
       Logs},
  };
  return commands;
}

}  // namespace hephy
