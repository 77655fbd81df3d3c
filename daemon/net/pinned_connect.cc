#include "net/pinned_connect.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "hephy/error.h"

namespace hephy {
namespace {

// Connects to `address` within `timeout`; the socket, or an empty one with
// errno set.
UniqueFd ConnectTo(const SocketAddress& address, std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fd;
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    if (errno != EINPROGRESS) return UniqueFd();
    pollfd ready{fd.get(), POLLOUT, 0};
    int polled;
    do {
      polled = poll(&ready, 1, static_cast<int>(timeout.count()));
    } while (polled < 0 && errno == EINTR);
    int error = polled == 0 ? ETIMEDOUT : 0;
    socklen_t length = sizeof error;
    if (polled > 0) getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (polled < 0) error = errno;
    if (error != 0) {
      fd.Reset();
      errno = error;
      return fd;
    }
  }
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace

UniqueFd ConnectToAny(const std::vector<SocketAddress>& addresses, const std::string& host,
                      const std::string& port, std::chrono::milliseconds timeout) {
  std::string failures;
  for (const auto& address : addresses) {
    if (UniqueFd fd = ConnectTo(address, timeout)) return fd;
    failures += (failures.empty() ? "" : "; ") + address.ToString() + ": " + std::strerror(errno);
  }
  throw Error("cannot connect to " + host + " port " + port + " (" + failures + ")");
}

UniqueFd ConnectPinned(const EgressPolicy& policy, const std::string& host, const std::string& port,
                       std::chrono::milliseconds timeout) {
  return ConnectToAny(policy.Resolve(host, port), host, port, timeout);
}

}  // namespace hephy
