#include "net/egress_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "hephy/error.h"
#include "net/http_head.h"
#include "net/pinned_connect.h"

namespace hephy {
namespace {

constexpr size_t kMaxHead = 64 * 1024;
constexpr int kHeadTimeoutMs = 30'000;
// A connection that moves no byte either way for this long is closed.
constexpr int kIdleTimeoutMs = 300'000;
// buildah opens a few connections at a time; this bounds what a job can hold.
constexpr int kMaxConnections = 64;

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// A status line's text: printable ASCII only, as HTTP allows there.
std::string StatusText(std::string text) {
  for (char& c : text) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return text;
}

std::string Response(int status, const std::string& text) {
  const std::string reason = StatusText(text);
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(reason.size() + 1) +
         "\r\nConnection: close\r\n\r\n" + reason + "\n";
}

// Reads from `fd` into `buffer` until it holds a whole head (through the
// blank line); where the head ends, or nullopt when the peer closed, stop
// was signalled, the head is too long or took too long.
std::optional<size_t> ReadHead(int fd, int stop, std::string& buffer) {
  char chunk[4096];
  for (;;) {
    if (const auto end = buffer.find("\r\n\r\n"); end != std::string::npos) return end + 4;
    if (buffer.size() > kMaxHead) return std::nullopt;
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop, POLLIN, 0}};
    const int polled = poll(fds, 2, kHeadTimeoutMs);
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0 || fds[1].revents != 0) return std::nullopt;
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

// Copies bytes both ways between `client` and `server` until each side has
// sent all it will, or stop is signalled, or nothing moves for
// kIdleTimeoutMs. `response_head`, when given, sees the server's first head
// whole before the client does and returns what the client gets instead;
// with `end` set, nothing more of the server's is passed on.
using HeadFilter = std::function<std::string(const std::string& head, bool& end)>;
void Relay(int client, int server, int stop, const HeadFilter& response_head) {
  struct Direction {
    int from;
    int to;
    std::string pending;
    bool eof = false;
    bool shut = false;
  };
  Direction up{client, server};
  Direction down{server, client};
  std::string head;  // the server's head while it is being read
  bool head_done = !response_head;
  char chunk[64 * 1024];
  while (!(up.shut && down.shut)) {
    std::vector<pollfd> fds = {{stop, POLLIN, 0}};
    std::vector<Direction*> readers, writers;
    for (Direction* d : {&up, &down}) {
      if (!d->eof && d->pending.empty()) {
        fds.push_back({d->from, POLLIN, 0});
        readers.push_back(d);
      }
    }
    for (Direction* d : {&up, &down}) {
      if (!d->pending.empty()) {
        fds.push_back({d->to, POLLOUT, 0});
        writers.push_back(d);
      }
    }
    const int polled = poll(fds.data(), fds.size(), kIdleTimeoutMs);
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0 || fds[0].revents != 0) return;
    size_t at = 1;
    for (Direction* d : readers) {
      if (fds[at++].revents == 0) continue;
      const ssize_t n = recv(d->from, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) return;
      if (n == 0) {
        d->eof = true;
      } else if (d == &down && !head_done) {
        head.append(chunk, static_cast<size_t>(n));
        const auto end = head.find("\r\n\r\n");
        if (end == std::string::npos && head.size() <= kMaxHead) continue;
        if (end == std::string::npos) {
          d->pending = Response(502, "the server's response head is longer than 64 KiB");
          d->eof = up.eof = up.shut = true;
        } else {
          bool stop_here = false;
          d->pending = response_head(head.substr(0, end + 4), stop_here);
          if (stop_here) {
            d->eof = up.eof = up.shut = true;
          } else {
            d->pending += head.substr(end + 4);
          }
        }
        head_done = true;
      } else {
        d->pending.assign(chunk, static_cast<size_t>(n));
      }
    }
    for (Direction* d : writers) {
      if (fds[at++].revents == 0) continue;
      const ssize_t n =
          send(d->to, d->pending.data(), d->pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) return;
      d->pending.erase(0, static_cast<size_t>(n));
    }
    for (Direction* d : {&up, &down}) {
      if (d->eof && d->pending.empty() && !d->shut) {
        shutdown(d->to, SHUT_WR);
        d->shut = true;
      }
    }
    // The server's answer is whole and the client has it: the server's
    // reading side no longer matters.
    if (down.shut && !up.shut && up.pending.empty()) {
      up.eof = true;
    }
  }
}

}  // namespace

EgressProxy::EgressProxy(EgressPolicy policy) : policy_(std::move(policy)) {
  listener_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (!listener_ ||
      bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener_.get(), 64) != 0 ||
      getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw Error(std::string("egress proxy: cannot listen on 127.0.0.1: ") + std::strerror(errno));
  }
  port_ = ntohs(address.sin_port);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw Error(std::string("egress proxy: cannot make a pipe: ") + std::strerror(errno));
  }
  stop_read_.Reset(pipe_fds[0]);
  stop_write_.Reset(pipe_fds[1]);
  acceptor_ = std::thread([this] { Accept(); });
}

EgressProxy::~EgressProxy() {
  stop_write_.Reset();
  acceptor_.join();
  connections_.Wait();
}

std::string EgressProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> EgressProxy::Refusals() const {
  const std::lock_guard lock(mutex_);
  return refusals_;
}

void EgressProxy::Accept() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    UniqueFd client(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    const int fd = client.get();
    auto shared = std::make_shared<UniqueFd>(std::move(client));
    if (!connections_.Start([this, shared] { Serve(std::move(*shared)); }, kMaxConnections)) {
      SendAll(fd, Response(503, "too many connections through hephyd's egress proxy"));
    }
  }
}

UniqueFd EgressProxy::Connect(int client, const std::string& what, const Authority& authority) {
  std::vector<SocketAddress> addresses;
  try {
    addresses = policy_.Resolve(authority.host, authority.port);
  } catch (const Error& e) {
    {
      const std::lock_guard lock(mutex_);
      refusals_.push_back(what + ": " + e.what());
    }
    SendAll(client, Response(403, e.what()));
    return UniqueFd();
  }
  try {
    return ConnectToAny(addresses, authority.host, authority.port);
  } catch (const Error& e) {
    SendAll(client, Response(502, e.what()));
    return UniqueFd();
  }
}

void EgressProxy::Serve(UniqueFd client) {
  std::string buffer;
  const auto head_end = ReadHead(client.get(), stop_read_.get(), buffer);
  if (!head_end) return;
  const HttpHead head = ParseHttpHead(std::string_view(buffer).substr(0, *head_end));
  const std::string rest = buffer.substr(*head_end);
  // "METHOD TARGET HTTP/1.x"
  const auto first = head.start_line.find(' ');
  const auto last = head.start_line.rfind(' ');
  if (first == std::string::npos || first == last ||
      !head.start_line.substr(last + 1).starts_with("HTTP/1.")) {
    SendAll(client.get(), Response(400, "not an HTTP/1 request"));
    return;
  }
  const std::string method = head.start_line.substr(0, first);
  const std::string target = head.start_line.substr(first + 1, last - first - 1);

  if (method == "CONNECT") {
    const auto authority = ParseAuthority(target, "");
    if (!authority) {
      SendAll(client.get(), Response(400, "CONNECT takes HOST:PORT, not '" + target + "'"));
      return;
    }
    const UniqueFd server = Connect(client.get(), "https://" + target, *authority);
    if (!server) return;
    SendAll(client.get(), "HTTP/1.1 200 Connection established\r\n\r\n");
    SendAll(server.get(), rest);
    Relay(client.get(), server.get(), stop_read_.get(), nullptr);
    return;
  }

  const auto url = ParseAbsoluteUrl(target);
  if (!url || url->scheme != "http") {
    SendAll(client.get(),
            Response(400, "a proxy request takes an absolute http:// URL, not '" + target + "'"));
    return;
  }
  const std::string what = "http://" + url->authority.host + ":" + url->authority.port;
  const UniqueFd server = Connect(client.get(), what, url->authority);
  if (!server) return;
  std::string request =
      head.ForwardedWith(method + " " + url->path + " " + head.start_line.substr(last + 1));
  if (!head.Field("Host")) {
    request.insert(request.find("\r\n") + 2, "Host: " + what.substr(7) + "\r\n");
  }
  SendAll(server.get(), request + rest);
  // A redirect is followed by the client, and Go programs follow one to a
  // loopback address without the proxy: such a Location is refused here.
  const HeadFilter check_redirect = [&](const std::string& text, bool& end) {
    const HttpHead response = ParseHttpHead(text);
    const auto space = response.start_line.find(' ');
    const std::string code =
        space == std::string::npos ? "" : response.start_line.substr(space + 1, 3);
    const auto location = response.Field("Location");
    if (code.size() == 3 && code.front() == '3' && location) {
      if (const auto next = ParseAbsoluteUrl(*location)) {
        try {
          policy_.Resolve(next->authority.host, next->authority.port);
        } catch (const Error& e) {
          end = true;
          const std::lock_guard lock(mutex_);
          refusals_.push_back(what + " redirects to " + *location + ": " + e.what());
          return Response(403, e.what());
        }
      }
    }
    return response.ForwardedWith(response.start_line);
  };
  Relay(client.get(), server.get(), stop_read_.get(), check_redirect);
}

}  // namespace hephy
