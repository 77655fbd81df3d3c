// The registry client's transport: one HTTP/1.1 connection to one host, kept
// alive between requests, over plain TCP or over TLS (OpenSSL). The request
// and response handling is the same for both; nothing above this file knows
// about sockets or certificates.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hephy/error.h"

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

// Whether `host` is "localhost" or a loopback address (127.0.0.0/8, ::1):
// traffic to it never leaves the machine.
bool IsLoopbackHost(const std::string& host);

// What a TLS connection trusts: the system's CA store, plus the PEM
// certificates of `ca_file` when it is not empty. TLS 1.2 or later only.
// Throws Error naming ca_file and the reason when it cannot be read. One
// instance may be shared by any number of connections of one thread at a time.
class TlsContext {
 public:
  explicit TlsContext(const std::filesystem::path& ca_file = {});
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  friend class HttpConnection;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The connection could not be made or broke before the response was read:
// resolving, connecting, sending, or waiting for the answer failed. A
// certificate that does not verify or a malformed response is a plain Error:
// trying again will not help.
class ConnectionError : public TransientError {
 public:
  using TransientError::TransientError;
};

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
  // Connects lazily, on the first Send. `timeout` bounds the connect (with
  // the TLS handshake), the write of a request and the read of its response,
  // each; a response body longer than `max_body` bytes is an error. With
  // `tls`, HTTPS: the server's certificate must chain to what `tls` trusts
  // and name server.host (DNS name or IP address); SNI is sent for names.
  // `tls` must outlive the connection.
  HttpConnection(HostPort server, std::chrono::milliseconds timeout, size_t max_body,
                 TlsContext* tls = nullptr);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends the request and reads the whole response, whatever its status.
  // Reconnects first when there is no connection; a request that finds its
  // kept-alive connection closed by the server is sent again once on a new
  // one. Throws ConnectionError ("cannot connect: Connection refused", "no
  // response within 30 s") or Error ("TLS handshake failed: certificate
  // verify failed (self-signed certificate)") with the reason only; callers
  // add what they asked for.
  // Not thread-safe: one thread at a time.
  HttpResponse Send(const HttpRequest& request);

  // Drops the connection; the next Send opens a new one.
  void Close();

  const HostPort& server() const { return server_; }
  bool tls() const { return tls_ != nullptr; }

 private:
  struct Stream;
  void Connect();
  HostPort server_;
  std::chrono::milliseconds timeout_;
  size_t max_body_;
  TlsContext* tls_;
  std::unique_ptr<Stream> stream_;
};

// Where a Location header (absolute "http[s]://host:port/path?q", or relative
// to the request target `base`) points, as seen from a connection to `self`
// over TLS (`self_tls`) or not. `authority` is empty when it is `self` with
// the same scheme. Throws Error naming the location for a scheme other than
// http and https, and for an https connection redirected to plain http.
struct HttpLocation {
  std::string authority;  // "" or "host:port"
  std::string target;     // origin form
  bool tls = false;       // https; meaningful when authority is set
};
HttpLocation ResolveLocation(const HostPort& self, bool self_tls, const std::string& base,
                             const std::string& location);

}  // namespace hephy
