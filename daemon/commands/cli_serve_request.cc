// Commands that the running `hephyd serve` carries out (rebuild, prune),
// asked over its hook socket (hephy/hook_protocol.h).
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "commands/cli_commands.h"
#include "hephy/error.h"
#include "hephy/hook_protocol.h"
#include "util/process.h"

namespace hephy {

int AskServe(CommandContext& ctx, const std::string& request, std::string_view runs,
             std::string_view what) {
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
                "): " + std::string(runs) + " in `hephyd serve`; is it running with this config?");
  }
  if (!hook::WriteAll(fd.get(), request)) throw Error("hephyd closed the connection");
  hook::PacketReader reader(fd.get());
  try {
    while (true) {
      const auto packet = reader.Next();
      if (!packet) continue;
      if (packet->starts_with("line ")) {
        ctx.io.out << packet->substr(5) << std::endl;  // flushed: it is live
      } else if (packet->starts_with("status ")) {
        return std::atoi(packet->c_str() + 7) == 0 ? 0 : 1;
      }
    }
  } catch (const std::runtime_error&) {
    throw Error("hephyd closed the connection before the " + std::string(what) + " finished");
  }
}

}  // namespace hephy
