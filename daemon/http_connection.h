// The registry client's transport: one HTTP/1.1 connection to one host, kept
// alive between requests. Plain TCP only; TLS will be a second kind of stream
// behind the same interface, so nothing above this file knows about sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hephy {

// "host[:port]" or "[v6]:port", as in registry.url.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  // "host:port" ("[v6]:port"): the authority requests name in their Host header.
  std::string Authority() const;
};

// Parses "host[:port]"; the port defaults to `default_port`. Throws Error naming
// the text when it has a scheme, a path, an empty host or a bad port.
HostPort ParseHostPort(const std::string& text, uint16_t default_port);

struct HttpRequest {
  std::string method;  // "GET", "HEAD", "PUT", ...
  std::string target;  // origin form: "/v2/web/manifests/latest?x=y"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with a Content-Length unless empty on GET and HEAD
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // names lower-cased; repeats joined with ", "
  std::string body;                            // empty for HEAD

  // The header's value, or "" when absent. `name` is lower case.
  std::string Header(const std::string& name) const;
};

class HttpConnection {
 public:
  // Connects lazily, on the first Send. `timeout` bounds the connect, the
  // write of a request and the read of its response, each; a response body
  // longer than `max_body` bytes is an error.
  HttpConnection(HostPort server, std::chrono::milliseconds timeout, size_t max_body);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends the request and reads the whole response, whatever its status.
  // Reconnects first when there is no connection; a request that finds its
  // kept-alive connection closed by the server is sent again once on a new
  // one. Throws Error with the reason only ("cannot connect: Connection
  // refused", "no response within 30 s"); callers add what they asked for.
  // Not thread-safe: one thread at a time.
  HttpResponse Send(const HttpRequest& request);

  // Drops the connection; the next Send opens a new one.
  void Close();

  const HostPort& server() const { return server_; }

 private:
  struct Stream;
  HostPort server_;
  std::chrono::milliseconds timeout_;
  size_t max_body_;
  std::unique_ptr<Stream> stream_;
};

// Where a Location header (absolute "http://host:port/path?q", or relative to
// the request target `base`) points. `authority` is empty when it is `self`.
// Throws Error for a scheme other than http, naming the location.
struct HttpLocation {
  std::string authority;  // "" or "host:port"
  std::string target;     // origin form
};
HttpLocation ResolveLocation(const HostPort& self, const std::string& base,
                             const std::string& location);

}  // namespace hephy
