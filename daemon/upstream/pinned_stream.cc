#include "upstream/pinned_stream.h"

#include <git2.h>
#include <git2/sys/stream.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "hephy/error.h"
#include "net/pinned_connect.h"

namespace hephy {
namespace {

thread_local const EgressPolicy* t_policy = nullptr;
thread_local std::chrono::milliseconds t_timeout{std::chrono::seconds(60)};
thread_local std::stop_token t_cancel;

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

int Connect(git_stream* stream) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  try {
    self->socket = ConnectPinned(PolicyOfThisThread(), self->host, self->port, t_timeout).Release();
  } catch (const Error& e) {
    return Fail(e.what());
  }
  return 0;
}

// Waits until the socket is ready for `events`: 0, or -1 with the error
// set when the server let the thread's timeout pass or the fetch was
// cancelled. Wakes every 100 ms to notice a cancel.
int AwaitReady(const PinnedStream& self, short events) {
  const auto deadline = std::chrono::steady_clock::now() + t_timeout;
  while (!t_cancel.stop_requested()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Fail(
          std::string(self.host) + " did not answer for " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t_timeout).count()) +
          "s (upstreams.timeout)");
    }
    pollfd ready{.fd = self.socket, .events = events, .revents = 0};
    const int n = poll(&ready, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (n > 0) return 0;
    if (n < 0 && errno != EINTR) {
      return Fail(std::string("cannot wait for ") + self.host + ": " + std::strerror(errno));
    }
  }
  return Fail(std::string("the fetch from ") + self.host + " was cancelled");
}

ssize_t Read(git_stream* stream, void* data, size_t length) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  if (AwaitReady(*self, POLLIN) != 0) return -1;
  ssize_t n;
  do {
    n = recv(self->socket, data, length, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) Fail(std::string("cannot read from ") + self->host + ": " + std::strerror(errno));
  return n;
}

ssize_t Write(git_stream* stream, const char* data, size_t length, int /*flags*/) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  if (AwaitReady(*self, POLLOUT) != 0) return -1;
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

PinnedConnections::PinnedConnections(const EgressPolicy& policy, std::chrono::milliseconds timeout,
                                     std::stop_token cancel)
    : previous_policy_(t_policy), previous_timeout_(t_timeout), previous_cancel_(t_cancel) {
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
  t_timeout = timeout;
  t_cancel = std::move(cancel);
}

PinnedConnections::~PinnedConnections() {
  t_policy = previous_policy_;
  t_timeout = previous_timeout_;
  t_cancel = previous_cancel_;
}

}  // namespace hephy
