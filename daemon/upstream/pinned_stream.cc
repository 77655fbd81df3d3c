#include "upstream/pinned_stream.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "hephy/error.h"

namespace hephy {
namespace {

constexpr std::chrono::seconds kConnectTimeout{30};

thread_local const EgressPolicy* t_policy = nullptr;

const EgressPolicy& PolicyOfThisThread() {
  static const EgressPolicy kPublicOnly;
  return t_policy != nullptr ? *t_policy : kPublicOnly;
}

// libgit2 1.5's ssh transport takes the socket of the stream it connects
// through as a git_socket_stream's (src/libgit2/streams/socket.h): this
// struct begins as that one does, and its fields mean the same.
struct PinnedStream {
  git_stream parent;
  char* host;
  char* port;
  int socket;
};

int Fail(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

// Connects to `address` within kConnectTimeout; the socket, or -1 with errno.
int ConnectTo(const SocketAddress& address) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    if (errno != EINPROGRESS) {
      const int error = errno;
      close(fd);
      errno = error;
      return -1;
    }
    pollfd ready{fd, POLLOUT, 0};
    int polled;
    do {
      polled = poll(&ready, 1, static_cast<int>(kConnectTimeout.count() * 1000));
    } while (polled < 0 && errno == EINTR);
    int error = polled == 0 ? ETIMEDOUT : 0;
    socklen_t length = sizeof error;
    if (polled > 0) getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (polled < 0) error = errno;
    if (error != 0) {
      close(fd);
      errno = error;
      return -1;
    }
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // libgit2 reads and writes blocking
  return fd;
}

int Connect(git_stream* stream) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  std::vector<SocketAddress> addresses;
  try {
    addresses = PolicyOfThisThread().Resolve(self->host, self->port);
  } catch (const Error& e) {
    return Fail(e.what());
  }
  std::string failures;
  for (const auto& address : addresses) {
    const int fd = ConnectTo(address);
    if (fd >= 0) {
      self->socket = fd;
      return 0;
    }
    failures += (failures.empty() ? "" : "; ") + address.ToString() + ": " + std::strerror(errno);
  }
  return Fail(std::string("cannot connect to ") + self->host + " port " + self->port + " (" +
              failures + ")");
}

ssize_t Read(git_stream* stream, void* data, size_t length) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  ssize_t n;
  do {
    n = recv(self->socket, data, length, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) Fail(std::string("cannot read from ") + self->host + ": " + std::strerror(errno));
  return n;
}

ssize_t Write(git_stream* stream, const char* data, size_t length, int /*flags*/) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  ssize_t n;
  do {
    n = send(self->socket, data, length, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) Fail(std::string("cannot write to ") + self->host + ": " + std::strerror(errno));
  return n;
}

int Close(git_stream* stream) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  if (self->socket >= 0) close(self->socket);
  self->socket = -1;
  return 0;
}

void Free(git_stream* stream) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  Close(stream);
  std::free(self->host);
  std::free(self->port);
  delete self;
}

int New(git_stream** out, const char* host, const char* port) {
  auto* self = new PinnedStream{};
  self->parent.version = GIT_STREAM_VERSION;
  self->parent.connect = Connect;
  self->parent.read = Read;
  self->parent.write = Write;
  self->parent.close = Close;
  self->parent.free = Free;
  self->host = strdup(host);
  self->port = strdup(port != nullptr ? port : "");
  self->socket = -1;
  *out = &self->parent;
  return 0;
}

}  // namespace

PinnedConnections::PinnedConnections(const EgressPolicy& policy) : previous_(t_policy) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    git_stream_registration registration{};
    registration.version = GIT_STREAM_VERSION;
    registration.init = New;
    if (git_stream_register(GIT_STREAM_STANDARD, &registration) != 0) {
      throw Error("cannot register hephyd's connections with libgit2");
    }
  });
  t_policy = &policy;
}

PinnedConnections::~PinnedConnections() { t_policy = previous_; }

}  // namespace hephy
