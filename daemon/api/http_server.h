// The HTTP front of `hephyd serve`: HTTP/1.1 with keep-alive on
// http.listen, plain or over TLS, Boost.Beast over Asio. One I/O thread runs every connection, each
// on its own strand; each request is handled on a thread of its own, so that a handler may block
// (on the database, the registry, or a build log followed for an hour)
// without holding up other connections. A streamed request body is read by
// its handler's thread itself, with blocking calls, for speed. What the requests mean is the
// handler's business (daemon/api/http_api.h).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hephy/config.h"

namespace hephy {

struct HttpServerLimits {
  // Connections open at once; any more are answered 503 and closed.
  int max_connections = 64;
  // A request whose request line and headers are larger is answered 431; one
  // whose body is larger (by its Content-Length, or as it arrives) 413.
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 16 * 1024;
  // From the moment a connection waits for a request to the end of its
  // body: an idle keep-alive connection, or a client that sends too slowly,
  // is closed after this.
  std::chrono::milliseconds request_timeout{30'000};
  // Longest a response, or one chunk of a streamed one, may take to write.
  std::chrono::milliseconds write_timeout{30'000};
};

struct HttpServerRequest {
  std::string method;                          // "GET"
  std::string target;                          // "/api/v1/builds?app=web"
  std::map<std::string, std::string> headers;  // names lower case; repeats joined by ", "
  std::string body;
  std::string remote;            // "127.0.0.1:50312", "[::1]:50312"
  bool remote_loopback = false;  // from 127.0.0.0/8 or ::1 (IPv4-mapped too)

  // The header's value, or "" when absent. `name` is lower case.
  std::string Header(const std::string& name) const;
};

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::string body;
};

// {"error": MESSAGE} with `status`: how every error of the API looks.
HttpServerResponse JsonError(int status, const std::string& message);

// One request being answered, used on the handler's thread: either one
// Respond, or StartStream, any number of Write and one Finish.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;

  // Sends a whole response, with a Content-Length, once the handler has
  // returned. The connection is kept for the client's next request, when it
  // asked for that and its body was read whole.
  virtual void Respond(HttpServerResponse response) = 0;

  // The next bytes of a streamed request body (see HttpServer's
  // `streamed_bodies`): buffer.size() of them, fewer only at the body's end;
  // 0 once it has all come, and always for a body read whole (it is in the
  // request). Read on the calling thread, which until then also writes what
  // StartStream, Write and Finish send; call it from one thread at a time. A
  // client that sent "Expect: 100-continue" is told to go on at the first
  // call. Throws Error when the client goes, breaks the framing, sends
  // nothing for request_timeout, or the server stops.
  virtual size_t ReadBody(std::span<char> buffer) = 0;

  // Starts a streamed response (Transfer-Encoding: chunked) with the status
  // and headers of `head` (its body is ignored), and waits until they are
  // written. The connection closes when the stream ends. False when the
  // client has gone, the write timed out or the server is stopping: then the
  // handler should give up.
  virtual bool StartStream(const HttpServerResponse& head) = 0;
  // Sends one chunk and waits until it is written; false as for StartStream.
  virtual bool Write(std::string_view data) = 0;
  // Sends the last chunk: the response is complete. A stream that is not
  // finished (the handler threw or gave up) is cut off, so that the client
  // sees it incomplete.
  virtual void Finish() = 0;

  // Requested when the client goes away during a stream, or the server stops.
  virtual std::stop_token stopping() const = 0;
};

// Called on the request's own thread; may block. An exception, or no
// response at all, is answered 500 (the exception's text is logged, not sent).
using HttpHandler = std::function<void(const HttpServerRequest& request, HttpExchange& exchange)>;

struct HttpServerOptions {
  // Requests for which this answers true (given their method, target and
  // headers) reach the handler as soon as their headers have come, their
  // body unread and without limit, for HttpExchange::ReadBody; their
  // connection closes after the response. Other bodies are read whole first,
  // within max_body_bytes.
  std::function<bool(const HttpServerRequest& head)> streamed_bodies;
  // When set, the listener speaks HTTPS only: each new connection's TLS
  // handshake uses the context this returns then (a reload changes it for
  // later connections only).
  std::function<std::shared_ptr<boost::asio::ssl::context>()> tls;
};

template <class Stream>
class HttpStreamSession;

class HttpServer {
 public:
  HttpServer(ListenAddress listen, HttpServerLimits limits, HttpHandler handler,
             HttpServerOptions options = {});
  // Stops the server if it runs.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address. Returns it, with the port the kernel chose when
  // `listen` asks for port 0. Throws Error "http.listen ADDRESS: REASON".
  ListenAddress Listen();

  // Serves connections on a thread of the server's own, until Stop.
  void Start();

  // Stops accepting, closes idle connections, ends streams (a client sees
  // them cut off), lets requests being handled finish, and waits for all
  // of it. Safe from any thread; idempotent.
  void Stop();

 private:
  template <class Stream>
  friend class HttpStreamSession;  // one connection (http_server.cc)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hephy
