// hephyd rebuild APP [UNIT...]
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "commands/cli_commands.h"
#include "hephy/error.h"
#include "hephy/hook_protocol.h"
#include "util/names.h"
#include "util/process.h"

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

  const auto socket_path = ctx.config.HookSocketPath();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.string().size() >= sizeof address.sun_path) {
    throw Error(socket_path.string() + ": socket path too long (data_dir is too deep)");
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.string().size() + 1);
  const UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw Error("cannot reach hephyd at " + socket_path.string() + " (" + std::strerror(errno) +
                "): rebuilds run in `hephyd serve`; is it running with this config?");
  }
  if (!hook::WriteAll(fd.get(), request)) throw Error("hephyd closed the connection");
  hook::PacketReader reader(fd.get());
  try {
    while (true) {
      const auto packet = reader.Next();
      if (!packet) continue;
      if (packet->starts_with("line ")) {
        ctx.io.out << packet->substr(5) << std::endl;  // flushed: the build is live
      } else if (packet->starts_with("status ")) {
        return std::atoi(packet->c_str() + 7) == 0 ? 0 : 1;
      }
    }
  } catch (const std::runtime_error&) {
    throw Error("hephyd closed the connection before the rebuild finished");
  }
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
