// Scripted HTTP servers on loopback for unit tests of HTTP clients: one that
// accepts connections and never answers, and one that answers each request
// with what the test's handler returns and records what it was sent.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hephy {

// A loopback socket that listens but never accepts: connects succeed, and
// requests are never answered.
class SilentServer {
 public:
  SilentServer() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    url_ = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  }
  ~SilentServer() { close(fd_); }
  const std::string& url() const { return url_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::string url_;
};

// A scripted HTTP server: answers each request, one per connection, with
// what `handler` returns for its request line ("GET /v2/ HTTP/1.1") and body,
// and records the request lines.
class FakeServer {
 public:
  using Handler = std::function<std::string(const std::string& line, const std::string& body)>;
  explicit FakeServer(Handler handler)
      : FakeServer(kHeads, [handler = std::move(handler)](const std::string& head,
                                                          const std::string& body) {
          return handler(head.substr(0, head.find("\r\n")), body);
        }) {}
  // A handler given kHeads sees the request line and its header lines
  // (each ending in CRLF) instead of the line alone.
  struct Heads {};
  static constexpr Heads kHeads{};
  FakeServer(Heads, Handler handler) : handler_(std::move(handler)) {
    if (listen(listener_.fd(), 8) != 0) throw std::runtime_error("listen");
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeServer() {
    shutdown(listener_.fd(), SHUT_RDWR);  // wakes accept()
    thread_.join();
  }
  const std::string& url() const { return listener_.url(); }
  std::vector<std::string> requests() {
    const std::lock_guard lock(mutex_);
    return requests_;
  }
  // Each request's line and header lines, each ending in CRLF.
  std::vector<std::string> heads() {
    const std::lock_guard lock(mutex_);
    return heads_;
  }

  // A complete response with `status` ("404 Not Found"), extra header lines
  // and a body; the connection closes after it.
  static std::string Response(const std::string& status, const std::string& headers = "",
                              const std::string& body = "") {
    return "HTTP/1.1 " + status + "\r\n" + headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  }

 private:
  void Serve() {
    for (;;) {
      const int fd = accept(listener_.fd(), nullptr, nullptr);
      if (fd < 0) return;
      std::string data;
      char buffer[4096];
      size_t header_end;
      ssize_t n;
      while ((header_end = data.find("\r\n\r\n")) == std::string::npos &&
             (n = read(fd, buffer, sizeof buffer)) > 0) {
        data.append(buffer, n);
      }
      if (header_end != std::string::npos) {
        size_t length = 0;
        const auto at = data.find("Content-Length: ");
        if (at != std::string::npos && at < header_end) length = std::stoul(data.substr(at + 16));
        while (data.size() < header_end + 4 + length && (n = read(fd, buffer, sizeof buffer)) > 0) {
          data.append(buffer, n);
        }
        const std::string line = data.substr(0, data.find("\r\n"));
        {
          const std::lock_guard lock(mutex_);
          requests_.push_back(line);
          heads_.push_back(data.substr(0, header_end + 2));
        }
        const std::string response =
            handler_(data.substr(0, header_end + 2), data.substr(header_end + 4, length));
        for (size_t sent = 0; sent < response.size();) {
          const ssize_t w = write(fd, response.data() + sent, response.size() - sent);
          if (w <= 0) break;
          sent += w;
        }
      }
      close(fd);
    }
  }

  SilentServer listener_;
  Handler handler_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<std::string> heads_;
  std::thread thread_;
};

}  // namespace hephy
