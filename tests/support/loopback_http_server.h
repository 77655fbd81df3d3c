// A small HTTP/1.1 server on 127.0.0.1 for the tests' stand-ins (a token
// issuer, a proxy): a thread per connection, so that a client keeping one
// connection alive never holds up another; each connection's requests are
// answered in order. Request bodies of any size are read whole, whether sent
// with Content-Length or chunked. Needs Boost.Beast; stopped at the end.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <memory>
#include <optional>
#include <thread>

namespace hephy {

class LoopbackHttpServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  // What a connection does with each request: a response, or nullopt to
  // close the connection without one. The server sets the response's
  // version, keep-alive and Content-Length (a body's size, except that a
  // response to HEAD keeps the Content-Length the handler set, and its body
  // is not sent).
  using Handler = std::function<std::optional<Response>(const Request&)>;

  // Listens on a free port of 127.0.0.1 at once. `per_connection` makes the
  // handler of each connection, on that connection's thread: it may hold
  // what belongs to one connection (the proxy's upstream connection).
  explicit LoopbackHttpServer(std::function<Handler()> per_connection)
      : per_connection_(std::move(per_connection)),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        port_(acceptor_.local_endpoint().port()) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  // Stops accepting, ends every connection (a handler still running finishes
  // first) and joins their threads.
  ~LoopbackHttpServer() {
    io_.stop();
    thread_.join();
    for (auto& connection : connections_) {
      // Wakes a thread blocked reading the client; the descriptor stays open
      // (and so not reused) until its thread is joined.
      ::shutdown(connection->socket.native_handle(), SHUT_RDWR);
    }
    for (auto& connection : connections_) connection->thread.join();
  }
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  uint16_t port() const { return port_; }

  // How many connections were accepted so far: clients that keep theirs
  // alive open one.
  int connections() const { return accepted_; }

 private:
  struct Connection {
    explicit Connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    boost::asio::ip::tcp::socket socket;
    std::thread thread;
    std::atomic<bool> done = false;
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      ++accepted_;
      // Only this thread adds or removes connections until the destructor
      // runs, after it ended.
      connections_.remove_if([](const std::unique_ptr<Connection>& c) {
        if (!c->done) return false;
        c->thread.join();
        return true;
      });
      Connection& connection =
          *connections_.emplace_back(std::make_unique<Connection>(std::move(s)));
      connection.thread = std::thread([this, &connection] {
        Serve(connection.socket);
        connection.done = true;
      });
      Accept();
    });
  }

  void Serve(boost::asio::ip::tcp::socket& socket) {
    namespace http = boost::beast::http;
    const Handler handler = per_connection_();
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(64 * 1024);  // bearer tokens carry a certificate
      // Beast 1.74 takes no boost::none (it would read as 0).
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      http::read_header(socket, buffer, parser, ec);
      if (ec) break;  // closed
      // curl waits for this (a second, then sends anyway) before large bodies.
      if (boost::beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        http::write(socket, go_on, ec);
        if (ec) break;
      }
      // A request without a body is complete with its header already.
      if (!parser.is_done()) http::read(socket, buffer, parser, ec);
      if (ec) break;
      const Request request = parser.release();
      std::optional<Response> response;
      try {
        response = handler(request);
      } catch (const std::exception& e) {
        response.emplace(http::status::internal_server_error, 11);
        response->body() = std::string("test server: ") + e.what() + "\n";
      }
      if (!response) break;
      response->version(request.version());
      response->keep_alive(request.keep_alive());
      if (request.method() == http::verb::head) {
        if (response->find(http::field::content_length) == response->end()) {
          response->content_length(response->body().size());
        }
        response->body().clear();
      } else {
        response->prepare_payload();
      }
      http::write(socket, *response, ec);
      if (ec || !request.keep_alive()) break;
    }
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  const std::function<Handler()> per_connection_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const uint16_t port_;
  std::atomic<int> accepted_ = 0;
  std::list<std::unique_ptr<Connection>> connections_;
  std::thread thread_;  // last: runs once everything else exists
};

}  // namespace hephy
