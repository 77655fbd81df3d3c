// hephy-hook: every repository's pre-receive hook, installed by hephyd.
//
// git runs it with the pushed ref updates on stdin ("OLD NEW REF" lines) and
// the push's environment; it hands both to hephyd over the Unix socket named
// by $HEPHY_HOOK_SOCKET, prints every line hephyd answers on stderr as it
// arrives (git relays them to the pusher as "remote:" lines), and exits with
// the status hephyd decides. When hephyd cannot be reached the push is
// refused: the hook fails closed.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "hephy/hook_protocol.h"

extern char** environ;

namespace {

int Refuse(const std::string& why) {
  std::cerr << "hephy: " << why << "; push refused\n";
  return 1;
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

int main() {
  using hephy::hook::Packet;
  const std::string socket_path = Env("HEPHY_HOOK_SOCKET");
  if (socket_path.empty()) return Refuse("HEPHY_HOOK_SOCKET is not set (not run by hephyd?)");

  std::string request = Packet("app " + Env("HEPHY_APP")) + Packet("user " + Env("HEPHY_USER")) +
                        Packet("key " + Env("HEPHY_KEY_FINGERPRINT")) +
                        Packet("push-id " + Env("HEPHY_PUSH_ID"));
  for (const char* name :
       {"GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"}) {
    if (const char* value = std::getenv(name)) {
      request += Packet(std::string("env ") + name + "=" + value);
    }
  }
  const int options = std::atoi(Env("GIT_PUSH_OPTION_COUNT").c_str());
  for (int i = 0; i < options; ++i) {
    request += Packet("option " + Env(("GIT_PUSH_OPTION_" + std::to_string(i)).c_str()));
  }
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty()) request += Packet("update " + line);
  }
  request += hephy::hook::kFlush;

  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) return Refuse("hook socket path too long");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return Refuse("cannot reach hephyd at " + socket_path + ": " + std::strerror(errno));
  }
  if (!hephy::hook::WriteAll(fd, request)) return Refuse("hephyd closed the connection");

  hephy::hook::PacketReader reader(fd);
  try {
    while (true) {
      const auto packet = reader.Next();
      if (!packet) continue;
      if (packet->starts_with("line ")) {
        // One write per line, unbuffered: the pusher sees it now.
        const std::string line = packet->substr(5) + "\n";
        if (!hephy::hook::WriteAll(STDERR_FILENO, line)) return 1;
      } else if (packet->starts_with("status ")) {
        return std::atoi(packet->c_str() + 7);
      }
    }
  } catch (const std::exception& e) {
    return Refuse(std::string("lost the connection to hephyd (") + e.what() + ")");
  }
}
