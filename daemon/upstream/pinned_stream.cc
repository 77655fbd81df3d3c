#include "upstream/pinned_stream.h"

#include <git2.h>
#include <git2/sys/stream.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hephy/error.h"
#include "net/pinned_connect.h"

namespace hephy {
namespace {

thread_local const EgressPolicy* t_policy = nullptr;
thread_local std::chrono::milliseconds t_timeout{std::chrono::seconds(60)};
thread_local std::stop_token t_cancel;
thread_local std::shared_ptr<PinnedConnections::Interruption> t_interruption;

std::string NoAnswer(const std::string& host, std::chrono::milliseconds timeout) {
  return host + " did not answer for " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
         "s (upstreams.timeout)";
}

// libssh2 reads and writes the socket of an ssh transport itself, never
// through the stream: this thread bounds such a connection from outside.
// Once neither direction has carried data for the timeout (the kernel's
// TCP_INFO says when each last did), or the fetch is cancelled, it shuts the
// socket down, which fails libssh2's wait, and says why in `interruption`.
class IdleWatchdog {
 public:
  IdleWatchdog(int socket, std::string host)
      : thread_([socket, host = std::move(host), timeout = t_timeout, cancel = t_cancel,
                 interruption = t_interruption](std::stop_token stop) {
          Watch(socket, host, timeout, cancel, interruption, stop);
        }) {}

 private:
  static void Watch(int socket, const std::string& host, std::chrono::milliseconds timeout,
                    std::stop_token cancel,
                    const std::shared_ptr<PinnedConnections::Interruption>& interruption,
                    std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    const auto interrupt = [&](const std::string& why) {
      if (interruption) interruption->Set(why);
      shutdown(socket, SHUT_RDWR);
    };
    while (true) {
      // Returns at once when the watchdog is stopped, as its connection closes.
      wake.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
      if (stop.stop_requested()) return;
      if (cancel.stop_requested()) return interrupt("the fetch from " + host + " was cancelled");
      tcp_info info{};
      socklen_t length = sizeof info;
      if (getsockopt(socket, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return;
      const auto idle =
          std::chrono::milliseconds(std::min(info.tcpi_last_data_recv, info.tcpi_last_data_sent));
      if (idle >= timeout) return interrupt(NoAnswer(host, timeout));
    }
  }

  std::jthread thread_;
};

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
  IdleWatchdog* watchdog;  // while connected
};

int Fail(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

int Connect(git_stream* stream) {
  auto* self = reinterpret_cast<PinnedStream*>(stream);
  try {
    self->socket = ConnectPinned(PolicyOfThisThread(), self->host, self->port, t_timeout).Release();
    self->watchdog = new IdleWatchdog(self->socket, self->host);
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
    if (left.count() <= 0) return Fail(NoAnswer(self.host, t_timeout));
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
  delete self->watchdog;  // before the socket it watches is closed
  self->watchdog = nullptr;
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
  self->watchdog = nullptr;
  *out = &self->parent;
  return 0;
}

}  // namespace

PinnedConnections::PinnedConnections(const EgressPolicy& policy, std::chrono::milliseconds timeout,
                                     std::stop_token cancel)
    : previous_policy_(t_policy),
      previous_timeout_(t_timeout),
      previous_cancel_(t_cancel),
      previous_interruption_(t_interruption),
      interruption_(std::make_shared<Interruption>()) {
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
  t_interruption = interruption_;
}

PinnedConnections::~PinnedConnections() {
  t_policy = previous_policy_;
  t_timeout = previous_timeout_;
  t_cancel = previous_cancel_;
  t_interruption = previous_interruption_;
}

void PinnedConnections::Interruption::Set(const std::string& why) {
  std::lock_guard lock(mutex_);
  if (why_.empty()) why_ = why;
}

std::string PinnedConnections::Interruption::Get() const {
  std::lock_guard lock(mutex_);
  return why_;
}

std::string PinnedConnections::interruption() const { return interruption_->Get(); }

}  // namespace hephy
