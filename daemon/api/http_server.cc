#include "api/http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <future>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "hephy/error.h"
#include "net/beast.h"
#include "util/logging.h"
#include "util/thread_group.h"

namespace hephy {
namespace {

using tcp = net::ip::tcp;

constexpr std::uint64_t kNoBodyLimit = std::numeric_limits<std::uint64_t>::max();

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("http");
  return logger;
}

bool IsLoopback(const net::ip::address& address) {
  if (address.is_v4()) return address.to_v4().is_loopback();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

// Errors of the request parser: the client sent something that is not HTTP.
bool IsParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

std::string EndpointText(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(endpoint.port());
}

}  // namespace

std::string HttpServerRequest::Header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpServerResponse JsonError(int status, const std::string& message) {
  return {status, "application/json", {}, nlohmann::json({{"error", message}}).dump() + "\n"};
}

class HttpSession;

struct HttpServer::Impl {
  ListenAddress listen;
  HttpServerLimits limits;
  HttpHandler handler;
  std::function<bool(const HttpServerRequest&)> streamed_bodies;
  std::function<std::shared_ptr<net::ssl::context>()> tls;
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  tcp::acceptor acceptor{io};
  net::steady_timer accept_pause{io};
  std::thread thread;
  ThreadGroup handlers;
  std::atomic<int> open{0};

  // Guards `stopping` and `sessions`: a request is handed to a handler
  // thread only while the server is not stopping, so Stop's wait for the
  // handlers sees every one of them.
  std::mutex mutex;
  bool stopping = false;
  std::map<HttpSession*, std::weak_ptr<HttpSession>> sessions;
  // A second Stop waits for the first to finish.
  std::once_flag stop_once;

  Impl(ListenAddress listen_in, HttpServerLimits limits_in, HttpHandler handler_in,
       HttpServerOptions options)
      : listen(std::move(listen_in)),
        limits(limits_in),
        handler(std::move(handler_in)),
        streamed_bodies(std::move(options.streamed_bodies)),
        tls(std::move(options.tls)) {}

  void Accept();
  void Stop();
};

// What Stop needs of a connection, over TLS or not.
class HttpSession {
 public:
  virtual ~HttpSession() = default;
  // On the connection's strand: idle connections, streams and request
  // bodies still arriving close now; a response being made is still sent,
  // and then the connection closes.
  virtual void Shutdown() = 0;
  // The connection's strand.
  virtual net::any_io_executor executor() = 0;
};

// One connection: reads requests one after the other, hands each to a
// handler thread, and writes what the handler answers. Everything but the
// handler runs on the connection's strand, except while a streamed body
// comes in: then the handler's thread reads it, and writes what it answers
// meanwhile, itself, with blocking calls, one at a time (direct_mutex_), and
// the strand only watches their deadlines. A push's pack then goes from the
// socket to git without a hand-over per TLS record between threads, each of
// which cost the I/O thread several turns of its event loop. Stream is
// beast::tcp_stream, or beast::ssl_stream over it for HTTPS.
template <class Stream>
class HttpStreamSession : public HttpSession,
                          public HttpExchange,
                          public std::enable_shared_from_this<HttpStreamSession<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  HttpStreamSession(tcp::socket socket, HttpServer::Impl& server) requires(!kTls)
      : server_(server), stream_(std::move(socket)) {
    Identify();
  }
  // Holds `tls` for the connection's life: a reload does not pull it away.
  HttpStreamSession(tcp::socket socket, HttpServer::Impl& server,
                    std::shared_ptr<net::ssl::context> tls) requires(kTls)
      : server_(server), tls_(std::move(tls)), stream_(std::move(socket), *tls_) {
    Identify();
  }

  void Identify() {
    fd_ = Lowest().socket().native_handle();
    beast::error_code ec;
    const auto peer = Lowest().socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = EndpointText(peer);
      loopback_ = IsLoopback(peer.address());
    }
  }

  ~HttpStreamSession() override {
    if (!counted_) return;
    server_.open.fetch_sub(1);
    std::lock_guard lock(server_.mutex);
    server_.sessions.erase(this);
  }

  // Serves the connection, or turns it away when too many are open.
  void Start() {
    const int open = server_.open.fetch_add(1) + 1;
    counted_ = true;
    {
      std::lock_guard lock(server_.mutex);
      server_.sessions[this] = this->weak_from_this();
    }
    if constexpr (kTls) {
      // The handshake, within the time a request may take to come.
      Lowest().expires_after(server_.limits.request_timeout);
      stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this(),
                                                              open](beast::error_code ec) {
        if (ec) {
          Log()->debug("remote={} TLS handshake failed: {}", self->remote_, ec.message());
          return self->Close();
        }
        self->Serve(open);
      });
    } else {
      Serve(open);
    }
  }

  void Serve(int open) {
    if (open > server_.limits.max_connections) {
      Log()->warn("remote={} refused: http.max_connections ({}) connections are open", remote_,
                  server_.limits.max_connections);
      WriteResponse(JsonError(503, "too many connections; try again later"), false);
      return;
    }
    Read();
  }

  void Shutdown() override {
    stop_.request_stop();
    // The handler's thread is reading or writing the connection itself: its
    // blocking call ends once the socket is shut down, and the handler then
    // returns; the connection closes after.
    if (direct_) return ShutDownSocket();
    if (!busy_ || streaming_ || (body_parser_ && !body_complete_)) Close();
  }

  // Kept until the handler returns (Handle): only then may the connection
  // go on to the next request, whose handler must not find this one's state.
  void Respond(HttpServerResponse response) override { response_ = std::move(response); }

  size_t ReadBody(std::span<char> buffer) override {
    if (!body_parser_ || buffer.empty()) return 0;
    std::lock_guard lock(direct_mutex_);
    if (!body_error_.empty()) throw Error(body_error_);
    if (!direct_) return 0;  // the body has all come
    const auto fail = [this](beast::error_code ec) {
      if (stop_.stop_requested()) {
        body_error_ = "the server is stopping";
      } else if (timed_out_) {
        body_error_ = "the client sent nothing for " +
                      std::to_string(server_.limits.request_timeout.count()) + " ms";
      } else if (IsParseError(ec) && ec != http::error::partial_message) {
        body_error_ = "malformed request body: " + ec.message();
      } else {
        body_error_ = "the client has gone: " + ec.message();
      }
      EndDirect();
      net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
      throw Error(body_error_);
    };
    beast::error_code ec;
    if (continue_pending_) {
      continue_pending_ = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      DirectDeadline deadline(*this, server_.limits.write_timeout);
      net::write(stream_, net::buffer(kContinue.data(), kContinue.size()), ec);
      if (ec) fail(ec);
    }
    // Read on until `buffer` is full or the body complete: fewer, larger
    // writes to whoever the handler passes it on to.
    auto& body = body_parser_->get().body();
    size_t got = 0;
    while (got < buffer.size() && !body_parser_->is_done()) {
      body.data = buffer.data() + got;
      body.size = buffer.size() - got;
      {
        DirectDeadline deadline(*this, server_.limits.request_timeout);
        http::read_some(stream_, buffer_, *body_parser_, ec);
      }
      if (ec == http::error::need_buffer) ec = {};
      if (ec) fail(ec);
      got = buffer.size() - body.size;
    }
    if (body_parser_->is_done()) {
      // From here on the strand has the connection again, and watches for a
      // client that hangs up during a stream.
      body_complete_ = true;
      const bool streaming = direct_streaming_;
      EndDirect();
      net::post(stream_.get_executor(), [self = this->shared_from_this(), streaming] {
        if (!streaming || self->closed_) return;
        self->streaming_ = true;
        self->WatchForHangUp();
      });
    }
    return got;
  }

  bool StartStream(const HttpServerResponse& head) override {
    streaming_handler_ = true;
    {
      std::lock_guard lock(direct_mutex_);
      if (direct_) {
        if (stop_.stop_requested()) return false;
        direct_streaming_ = true;
        PrepareStreamHead(head);
        beast::error_code ec;
        DirectDeadline deadline(*this, server_.limits.write_timeout);
        http::write_header(stream_, *stream_head_serializer_, ec);
        return DirectWriteWentWell(ec);
      }
    }
    return OnStrand([&](std::promise<bool>& done) { WriteStreamHead(head, done); });
  }

  bool Write(std::string_view data) override {
    if (data.empty()) return !stop_.stop_requested();
    {
      std::lock_guard lock(direct_mutex_);
      if (direct_) {
        if (stop_.stop_requested()) return false;
        beast::error_code ec;
        DirectDeadline deadline(*this, server_.limits.write_timeout);
        net::write(stream_, http::make_chunk(net::buffer(data.data(), data.size())), ec);
        return DirectWriteWentWell(ec);
      }
    }
    return OnStrand([&](std::promise<bool>& done) { WriteChunk(data, done); });
  }

  void Finish() override {
    finished_ = true;
    {
      std::lock_guard lock(direct_mutex_);
      if (direct_) {
        beast::error_code ec;
        {
          DirectDeadline deadline(*this, server_.limits.write_timeout);
          net::write(stream_, http::make_chunk_last(), ec);
        }
        EndDirect();
        net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
        return;
      }
    }
    OnStrand([&](std::promise<bool>& done) { WriteLastChunk(done); });
  }

  std::stop_token stopping() const override { return stop_.get_token(); }

  net::any_io_executor executor() override { return stream_.get_executor(); }

 private:
  // While a blocking call of the handler's thread runs: the strand's
  // watchdog shuts the socket down once `limit` has passed, which ends it.
  class DirectDeadline {
   public:
    DirectDeadline(HttpStreamSession& session, std::chrono::milliseconds limit)
        : session_(session) {
      session_.direct_deadline_ =
          (std::chrono::steady_clock::now() + limit).time_since_epoch().count();
    }
    ~DirectDeadline() { session_.direct_deadline_ = kNoDeadline; }

   private:
    HttpStreamSession& session_;
  };
  static constexpr std::chrono::steady_clock::rep kNoDeadline =
      std::numeric_limits<std::chrono::steady_clock::rep>::max();

  // With direct_mutex_ held: a failed direct write ends the direct phase and
  // the connection; the stream is cut off, as on the strand.
  bool DirectWriteWentWell(beast::error_code ec) {
    if (!ec) return true;
    if (body_error_.empty()) body_error_ = "the client has gone: " + ec.message();
    EndDirect();
    stop_.request_stop();
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
    return false;
  }

  // With direct_mutex_ held (or once the handler has returned).
  void EndDirect() { direct_ = false; }

  // On the strand, while the handler's thread has the connection: ends a
  // blocking call that has run past its deadline.
  void WatchDirectDeadlines() {
    const auto shortest = std::min(server_.limits.request_timeout, server_.limits.write_timeout);
    const auto tick = std::clamp<std::chrono::milliseconds>(
        shortest / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
    watchdog_.expires_after(tick);
    watchdog_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || !self->direct_) return;
      if (std::chrono::steady_clock::now().time_since_epoch().count() > self->direct_deadline_) {
        self->timed_out_ = true;
        return self->ShutDownSocket();
      }
      self->WatchDirectDeadlines();
    });
  }

  // Ends any blocking call on the socket, from any thread; the descriptor
  // stays open until Close.
  void ShutDownSocket() { ::shutdown(fd_, SHUT_RDWR); }

  // Runs `start` on the strand and waits for the promise it is given.
  template <typename Start>
  bool OnStrand(Start&& start) {
    std::promise<bool> done;
    auto result = done.get_future();
    net::dispatch(stream_.get_executor(),
                  [self = this->shared_from_this(), &start, &done] { start(done); });
    return result.get();
  }

  // The next request's headers; then its body, read whole or streamed.
  void Read() {
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(server_.limits.max_header_bytes));
    // The body's limit depends on what the headers ask for (OnHeader). Not
    // boost::none: Beast 1.74 takes that as smaller than any Content-Length.
    header_parser_->body_limit(kNoBodyLimit);
    parser_.reset();
    body_parser_.reset();
    Lowest().expires_after(server_.limits.request_timeout);
    http::async_read_header(
        stream_, buffer_, *header_parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // Answers what the client broke, or closes; true when the read went well.
  bool ReadWentWell(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      WriteResponse(JsonError(413, "request body larger than " +
                                       std::to_string(server_.limits.max_body_bytes) + " bytes"),
                    false);
    } else if (ec == http::error::header_limit) {
      WriteResponse(JsonError(431, "request headers larger than " +
                                       std::to_string(server_.limits.max_header_bytes) + " bytes"),
                    false);
    } else if (IsParseError(ec) && ec != http::error::end_of_stream &&
               ec != http::error::partial_message) {
      WriteResponse(JsonError(400, "malformed request: " + ec.message()), false);
    } else if (ec) {
      Close();  // the client closed, went quiet for too long, or the server stops
    }
    return !ec;
  }

  void OnHeader(beast::error_code ec) {
    if (!ReadWentWell(ec)) return;
    const auto& message = header_parser_->get();
    request_ = HttpServerRequest{};
    request_.method = std::string(message.method_string());
    request_.target = std::string(message.target());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto& value = request_.headers[name];
      value += (value.empty() ? "" : ", ") + std::string(field.value());
    }
    request_.remote = remote_;
    request_.remote_loopback = loopback_;
    if (server_.streamed_bodies && server_.streamed_bodies(request_)) {
      continue_pending_ = beast::iequals(request_.Header("expect"), "100-continue");
      body_parser_.emplace(std::move(*header_parser_));
      body_parser_->body_limit(kNoBodyLimit);
      body_complete_ = body_parser_->is_done();
      keep_alive_ = false;  // a body the handler leaves unread would be taken for a request
      if (!body_complete_) {
        direct_ = true;
        WatchDirectDeadlines();
      }
      return Dispatch();
    }
    keep_alive_ = message.keep_alive();
    if (const auto length = header_parser_->content_length();
        length && *length > server_.limits.max_body_bytes) {
      return (void)ReadWentWell(http::error::body_limit);
    }
    parser_.emplace(std::move(*header_parser_));
    parser_->body_limit(server_.limits.max_body_bytes);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (!self->ReadWentWell(ec)) return;
                       self->request_.body = std::move(self->parser_->get().body());
                       self->Dispatch();
                     });
  }

  // Hands request_ to a handler thread.
  void Dispatch() {
    Lowest().expires_never();
    std::lock_guard lock(server_.mutex);
    if (server_.stopping) return Close();
    busy_ = true;
    response_.reset();
    finished_ = streaming_handler_ = false;
    server_.handlers.Start(
        [self = this->shared_from_this(), request = std::move(request_)]() mutable {
          self->Handle(request);
          // The last reference may be this one: the session goes here, while
          // Stop still waits for this thread, not after.
          self.reset();
        });
  }

  // On the handler's thread.
  void Handle(const HttpServerRequest& request) {
    try {
      server_.handler(request, *this);
    } catch (const std::exception& e) {
      Log()->error("remote={} {} {}: {}", remote_, request.method, request.target, e.what());
    }
    {
      // What is left of the body stays unread; the strand answers.
      std::lock_guard lock(direct_mutex_);
      EndDirect();
    }
    if (!streaming_handler_) {
      net::post(stream_.get_executor(),
                [self = this->shared_from_this(),
                 response = response_.value_or(JsonError(500, "internal error"))]() mutable {
                  self->WriteResponse(std::move(response), self->keep_alive_);
                });
    } else if (!finished_) {
      net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
    }
  }

  void WriteResponse(HttpServerResponse response, bool keep_alive) {
    bool stopping = false;
    {
      std::lock_guard lock(server_.mutex);
      stopping = server_.stopping;
    }
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    message->set(http::field::server, "hephyd/" HEPHY_VERSION);
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive && !stopping);
    message->prepare_payload();
    Lowest().expires_after(server_.limits.write_timeout);
    http::async_write(stream_, *message,
                      [self = this->shared_from_this(), message](beast::error_code ec, size_t) {
                        self->busy_ = false;
                        if (ec) return self->Close();
                        if (!message->keep_alive()) return self->Linger();
                        self->Read();
                      });
  }

  void WriteStreamHead(const HttpServerResponse& head, std::promise<bool>& done) {
    if (closed_ || stop_.stop_requested()) return done.set_value(false);
    streaming_ = true;
    PrepareStreamHead(head);
    Lowest().expires_after(server_.limits.write_timeout);
    http::async_write_header(
        stream_, *stream_head_serializer_,
        [self = this->shared_from_this(), &done](beast::error_code ec, size_t) {
          self->Lowest().expires_never();
          if (ec) {
            self->Close();
            return done.set_value(false);
          }
          // A body still coming is read by the handler.
          if (!self->body_parser_ || self->body_complete_) {
            self->WatchForHangUp();
          }
          done.set_value(true);
        });
  }

  void PrepareStreamHead(const HttpServerResponse& head) {
    stream_head_.emplace(static_cast<http::status>(head.status), 11);
    stream_head_->set(http::field::server, "hephyd/" HEPHY_VERSION);
    stream_head_->set(http::field::content_type, head.content_type);
    for (const auto& [name, value] : head.headers) stream_head_->set(name, value);
    stream_head_->keep_alive(false);
    stream_head_->chunked(true);
    stream_head_serializer_.emplace(*stream_head_);
  }

  // While a stream runs, the client sends nothing: a read that ends means
  // it has gone. The read has no timeout (a build may be quiet for long);
  // the writes have theirs.
  void WatchForHangUp() {
    if (watching_) return;
    watching_ = true;
    ReadUntilHangUp();
  }

  void ReadUntilHangUp() {
    stream_.async_read_some(net::buffer(hang_up_probe_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) return self->ReadUntilHangUp();
                              self->stop_.request_stop();
                              self->Close();
                            });
  }

  void WriteChunk(std::string_view data, std::promise<bool>& done) {
    if (closed_ || stop_.stop_requested()) return done.set_value(false);
    chunk_.assign(data);
    Lowest().expires_after(server_.limits.write_timeout);
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                     [self = this->shared_from_this(), &done](beast::error_code ec, size_t) {
                       self->Lowest().expires_never();
                       if (ec) self->Close();
                       done.set_value(!ec);
                     });
  }

  void WriteLastChunk(std::promise<bool>& done) {
    if (closed_) return done.set_value(false);
    Lowest().expires_after(server_.limits.write_timeout);
    net::async_write(stream_, http::make_chunk_last(),
                     [self = this->shared_from_this(), &done](beast::error_code ec, size_t) {
                       self->Close();
                       done.set_value(!ec);
                     });
  }

  // Closes after a last response, once the client has read it: the sending
  // side first, then whatever the client still sends (a request body that
  // was refused) is read and dropped until it closes too, for at most a
  // second. Closing with unread data at once would reset the connection,
  // and the client could lose the response.
  void Linger() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    Lowest().expires_after(std::chrono::seconds(1));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(hang_up_probe_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    busy_ = false;
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  HttpServer::Impl& server_;
  std::shared_ptr<net::ssl::context> tls_;  // before stream_, which uses it
  Stream stream_;
  beast::flat_buffer buffer_;
  // The request being read: its headers, then its body read whole or
  // streamed (a handler's ReadBody).
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  HttpServerRequest request_;
  std::string remote_ = "?";
  int fd_ = -1;  // the socket's, for ShutDownSocket
  bool loopback_ = false;
  bool counted_ = false;
  std::stop_source stop_;

  // On the strand.
  bool keep_alive_ = false;
  bool busy_ = false;       // a request is being handled or answered
  bool streaming_ = false;  // the response is a stream
  bool closed_ = false;
  bool continue_pending_ = false;  // the client waits for "100 Continue" to send its body
  bool watching_ = false;          // for the client to hang up (WatchForHangUp)
  std::optional<http::response<http::empty_body>> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> stream_head_serializer_;
  std::string chunk_;
  char hang_up_probe_[512];

  // A streamed body being read by the handler's thread (ReadBody), which
  // then also writes (StartStream, Write, Finish) directly.
  std::mutex direct_mutex_;
  std::atomic<bool> direct_ = false;
  std::atomic<bool> body_complete_ = false;
  std::atomic<bool> timed_out_ = false;  // the watchdog ended a direct call
  std::atomic<std::chrono::steady_clock::rep> direct_deadline_ = kNoDeadline;
  net::steady_timer watchdog_{stream_.get_executor()};
  bool direct_streaming_ = false;  // with direct_mutex_: a stream began directly
  std::string body_error_;         // with direct_mutex_: why the body stopped

  // On the handler's thread: what it did with the exchange.
  std::optional<HttpServerResponse> response_;
  bool streaming_handler_ = false;
  bool finished_ = false;
};

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      if (tls) {
        std::make_shared<HttpStreamSession<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket),
                                                                                  *this, tls())
            ->Start();
      } else {
        std::make_shared<HttpStreamSession<beast::tcp_stream>>(std::move(socket), *this)->Start();
      }
      return Accept();
    }
    // Out of descriptors, say: trying again at once would spin.
    Log()->warn("accept failed: {}", ec.message());
    accept_pause.expires_after(std::chrono::milliseconds(100));
    accept_pause.async_wait([this](beast::error_code) {
      if (acceptor.is_open()) Accept();
    });
  });
}

HttpServer::HttpServer(ListenAddress listen, HttpServerLimits limits, HttpHandler handler,
                       HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(listen), limits, std::move(handler),
                                   std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

ListenAddress HttpServer::Listen() {
  auto& acceptor = impl_->acceptor;
  const ListenAddress& listen = impl_->listen;
  const auto fail = [&](const beast::error_code& ec) -> ListenAddress {
    throw Error("http.listen " + listen.ToString() + ": " + ec.message());
  };
  beast::error_code ec;
  tcp::resolver resolver(impl_->io);
  const auto results =
      resolver.resolve(listen.host, std::to_string(listen.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return fail(ec);
  const tcp::endpoint endpoint = results.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  return ListenAddress{listen.host, acceptor.local_endpoint().port()};
}

void HttpServer::Start() {
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void HttpServer::Stop() {
  std::call_once(impl_->stop_once, [this] { impl_->Stop(); });
}

void HttpServer::Impl::Stop() {
  {
    std::lock_guard lock(mutex);
    stopping = true;
  }
  if (!thread.joinable()) return;  // never started
  net::post(io, [this] {
    beast::error_code ec;
    acceptor.close(ec);
    accept_pause.cancel();
    std::vector<std::shared_ptr<HttpSession>> open;
    {
      std::lock_guard lock(mutex);
      for (const auto& [raw, weak] : sessions) {
        if (auto session = weak.lock()) open.push_back(std::move(session));
      }
    }
    for (const auto& session : open) {
      net::dispatch(session->executor(), [session] { session->Shutdown(); });
    }
  });
  // Handlers finish: streams see the stop, others answer. What they answer
  // is still written (each write bounded by write_timeout), then the I/O
  // thread runs out of work.
  handlers.Wait();
  work.reset();
  thread.join();
}

}  // namespace hephy
