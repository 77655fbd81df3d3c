// The HTTP side of the fake Kubernetes API server (fake_kube_api.h): a real
// HTTP/1.1 server on 127.0.0.1, optionally HTTPS with a certificate from a
// test CA (and then, if asked, requiring a client certificate from it), a
// thread per connection. Each request is handed to the server as a
// RecordedRequest; its reply is sent whole, or streamed as the chunks of one
// body (watches, followed logs) until the stream ends or the client goes
// away. Needs Boost.Beast and OpenSSL::SSL; stopped at the end.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "percent_decode.h"
#include "test_ca.h"

namespace hephy {

// What a request was, for assertions.
struct RecordedRequest {
  std::string method;
  std::string target;                          // as sent: "/api/v1/...?watch=true"
  std::string path;                            // the target without its query
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string user;  // the client certificate's common name, if one was sent
};

class FakeKubeHttp {
 public:
  using Write = std::function<bool(std::string_view)>;

  // Thrown by a stream to break its connection off mid-body, as an API
  // server that restarts does: the body gets no end.
  struct Cut : std::exception {};

  // What a handler answers: a whole body, or `stream` writing the chunks of
  // one (until it returns, or throws Cut) on the connection's thread.
  struct Reply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::function<void(const Write& write, const std::function<bool()>& client_gone)> stream;
  };
  using Handler = std::function<Reply(const RecordedRequest&)>;

  // Listens on a free port of 127.0.0.1 at once and hands every request to
  // `handler`. With `ca`: HTTPS with a certificate for 127.0.0.1 and
  // localhost that it issues, and with `client_certificates` the TLS
  // handshake requires a client certificate from it.
  FakeKubeHttp(TestCa* ca, bool client_certificates, Handler handler)
      : handler_(std::move(handler)),
        tls_(ca != nullptr),
        ssl_(boost::asio::ssl::context::tls_server),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    if (tls_) {
      const TestCa::Issued server = ca->Issue("kube-apiserver", {"IP:127.0.0.1", "DNS:localhost"});
      ssl_.use_certificate_chain_file(server.certificate.string());
      ssl_.use_private_key_file(server.key.string(), boost::asio::ssl::context::pem);
      if (client_certificates) {
        ssl_.load_verify_file(ca->certificate().string());
        ssl_.set_verify_mode(boost::asio::ssl::verify_peer |
                             boost::asio::ssl::verify_fail_if_no_peer_cert);
      }
    }
    accepting_ = std::thread([this] { Accept(); });
  }

  ~FakeKubeHttp() { Stop(); }
  FakeKubeHttp(const FakeKubeHttp&) = delete;
  FakeKubeHttp& operator=(const FakeKubeHttp&) = delete;

  // Stops accepting, ends every connection and joins their threads; a
  // stream still running must notice that its client went away. Once only.
  void Stop() {
    {
      const std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes accept()
    accepting_.join();
    for (auto& connection : connections_) {
      // Wakes a thread blocked reading; the descriptor stays open (and so
      // not reused) until the thread is joined.
      ::shutdown(connection->socket.native_handle(), SHUT_RDWR);
    }
    for (auto& connection : connections_) connection->thread.join();
  }

  std::string url() const {
    return std::string(tls_ ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  struct Connection {
    explicit Connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    boost::asio::ip::tcp::socket socket;
    std::thread thread;
  };

  void Accept() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      const std::lock_guard lock(mutex_);
      if (stopping_) return;
      Connection& connection =
          *connections_.emplace_back(std::make_unique<Connection>(std::move(socket)));
      connection.thread = std::thread([this, &connection] { Serve(connection.socket); });
    }
  }

  void Serve(boost::asio::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    try {
      if (tls_) {
        boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> tls(socket, ssl_);
        tls.handshake(boost::asio::ssl::stream_base::server);
        std::string user;
        if (X509* peer = SSL_get_peer_certificate(tls.native_handle())) {
          char name[256] = "";
          X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
          user = name;
          X509_free(peer);
        }
        Exchange(tls, socket.native_handle(), user);
      } else {
        Exchange(socket, socket.native_handle(), "");
      }
    } catch (const std::exception&) {
      // The client gave up (a refused certificate, a closed connection), or
      // a stream was cut.
    }
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  template <class Stream>
  void Exchange(Stream& stream, int fd, const std::string& user) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      boost::system::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec) return;
      const auto request = parser.release();
      const Reply reply = handler_(Recorded(request, user));
      if (reply.stream) {
        http::response<http::empty_body> head{static_cast<http::status>(reply.status), 11};
        head.set(http::field::content_type, reply.content_type);
        head.chunked(true);
        head.keep_alive(false);
        http::response_serializer<http::empty_body> serializer{head};
        http::write_header(stream, serializer, ec);
        if (ec) return;
        const Write write = [&](std::string_view data) {
          boost::asio::write(stream, http::make_chunk(boost::asio::buffer(data)), ec);
          return !ec;
        };
        // A client that closed its end has gone away, even while nothing is
        // written to it.
        const auto client_gone = [fd] {
          pollfd poll_fd{.fd = fd, .events = POLLRDHUP};
          return ::poll(&poll_fd, 1, 0) > 0;
        };
        reply.stream(write, client_gone);
        if (!ec) boost::asio::write(stream, http::make_chunk_last(), ec);
        return;
      }
      http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
      response.set(http::field::content_type, reply.content_type);
      response.body() = reply.body;
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      http::write(stream, response, ec);
      if (ec || !request.keep_alive()) return;
    }
  }

  static RecordedRequest Recorded(
      const boost::beast::http::request<boost::beast::http::string_body>& request,
      const std::string& user) {
    RecordedRequest out{.method = std::string(request.method_string()),
                        .target = std::string(request.target()),
                        .body = request.body(),
                        .user = user};
    const auto question = out.target.find('?');
    out.path = out.target.substr(0, question);
    if (question != std::string::npos) {
      std::string_view rest = std::string_view(out.target).substr(question + 1);
      while (!rest.empty()) {
        const std::string_view pair = rest.substr(0, rest.find('&'));
        rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
        if (pair.empty()) continue;
        const auto equals = pair.find('=');
        out.query[PercentDecode(pair.substr(0, equals))] =
            equals == std::string_view::npos ? "" : PercentDecode(pair.substr(equals + 1));
      }
    }
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(field.value());
    }
    return out;
  }

  const Handler handler_;
  const bool tls_;
  boost::asio::ssl::context ssl_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::list<std::unique_ptr<Connection>> connections_;
  std::thread accepting_;  // last: runs once everything else exists
};

}  // namespace hephy
