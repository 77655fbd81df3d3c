// `git http-backend` behind a small HTTP or HTTPS server on a loopback port,
// for tests of fetching clients: the repositories under one directory,
// served to requests with HTTP Basic authentication whose password is the
// token (any user). Connections are served one at a time, in the order they
// come. Needs Boost.Beast and OpenSSL::SSL; stopped at the end.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "util/base64.h"
#include "util/process.h"

namespace hephy {

class GitHttpServer {
 public:
  // With `tls`, a self-signed certificate for "localhost" is made with the
  // openssl command in `dir`; clients must trust certificate().
  GitHttpServer(std::filesystem::path root, std::string token, bool tls,
                const std::filesystem::path& dir)
      : root_(std::move(root)),
        token_(std::move(token)),
        tls_(tls),
        ssl_(boost::asio::ssl::context::tls_server),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    if (tls_) {
      certificate_ = dir / "localhost.crt";
      const auto key = dir / "localhost.key";
      const RunResult r =
          Run({.argv = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout",
                        key.string(), "-out", certificate_.string()}});
      if (r.exit_code != 0) throw std::runtime_error("openssl req failed: " + r.err);
      ssl_.use_certificate_chain_file(certificate_.string());
      ssl_.use_private_key_file(key.string(), boost::asio::ssl::context::pem);
    }
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~GitHttpServer() {
    io_.stop();
    thread_.join();
  }
  GitHttpServer(const GitHttpServer&) = delete;
  GitHttpServer& operator=(const GitHttpServer&) = delete;

  // SCHEME://localhost:PORT/PATH, PATH relative to the root.
  std::string Url(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") +
           "://localhost:" + std::to_string(acceptor_.local_endpoint().port()) + "/" + path;
  }
  const std::filesystem::path& certificate() const { return certificate_; }

  // "USER:PASSWORD" of every request, "" for one without credentials.
  std::vector<std::string> Credentials() {
    std::lock_guard lock(mutex_);
    return credentials_;
  }
  // How many requests got 200 from git http-backend.
  int Served() {
    std::lock_guard lock(mutex_);
    return served_;
  }

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      try {
        if (tls_) {
          boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(std::move(s), ssl_);
          stream.handshake(boost::asio::ssl::stream_base::server);
          Exchange(stream);
          stream.shutdown(ec);
        } else {
          Exchange(s);
          s.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
        }
      } catch (const std::exception&) {
        // The client gave up (a refused certificate, a closed connection).
      }
      Accept();
    });
  }

  // Requests and responses until the client closes the connection or asks
  // to; libgit2 1.5 sends its POST on the connection of its GET.
  template <class Stream>
  void Exchange(Stream& stream) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      Request request;
      boost::system::error_code ec;
      boost::beast::http::read(stream, buffer, request, ec);
      if (ec) return;  // closed
      Response response = Handle(request);
      response.version(request.version());
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      boost::beast::http::write(stream, response);
      if (!request.keep_alive()) return;
    }
  }

  Response Handle(const Request& request) {
    namespace http = boost::beast::http;
    const std::string authorization(request[http::field::authorization]);
    const std::string credentials = authorization.starts_with("Basic ")
                                        ? Base64Decode(authorization.substr(6)).value_or("")
                                        : "";
    {
      std::lock_guard lock(mutex_);
      credentials_.push_back(credentials);
    }
    const auto colon = credentials.find(':');
    if (colon == std::string::npos || credentials.substr(colon + 1) != token_) {
      Response refused{http::status::unauthorized, request.version()};
      refused.set(http::field::www_authenticate, "Basic realm=\"git\"");
      // libgit2 1.5 reads a body only when a Content-Type announces one.
      refused.set(http::field::content_type, "text/plain");
      refused.body() = "authentication required\n";
      return refused;
    }

    // git http-backend as a CGI program (RFC 3875).
    const std::string target(request.target());
    const auto question = target.find('?');
    SpawnOptions cgi;
    cgi.argv = {"git", "http-backend"};
    cgi.env = std::vector<std::string>{
        "PATH=/usr/bin:/bin",
        "GIT_CONFIG_NOSYSTEM=1",
        "HOME=" + root_.string(),
        "GIT_PROJECT_ROOT=" + root_.string(),
        "GIT_HTTP_EXPORT_ALL=1",
        "REQUEST_METHOD=" + std::string(request.method_string()),
        "PATH_INFO=" + target.substr(0, question),
        "QUERY_STRING=" + (question == std::string::npos ? "" : target.substr(question + 1)),
        "CONTENT_TYPE=" + std::string(request[http::field::content_type]),
        "CONTENT_LENGTH=" + std::to_string(request.body().size()),
        "GIT_PROTOCOL=" + std::string(request["Git-Protocol"]),
        "REMOTE_USER=" + credentials.substr(0, colon),
        "REMOTE_ADDR=127.0.0.1"};
    const RunResult r = Run(cgi, request.body(), std::chrono::seconds(60));

    Response response{http::status::ok, request.version()};
    auto end = r.out.find("\r\n\r\n");
    size_t separator = 4;
    if (end == std::string::npos) {
      end = r.out.find("\n\n");
      separator = 2;
    }
    if (r.exit_code != 0 || end == std::string::npos) {
      response.result(http::status::internal_server_error);
      response.set(http::field::content_type, "text/plain");
      response.body() = r.err;
      return response;
    }
    std::istringstream headers(r.out.substr(0, end));
    for (std::string line; std::getline(headers, line);) {
      if (line.ends_with('\r')) line.pop_back();
      const auto sep = line.find(": ");
      if (sep == std::string::npos) continue;
      const std::string name = line.substr(0, sep), value = line.substr(sep + 2);
      if (name == "Status") {
        response.result(static_cast<unsigned>(std::stoi(value)));
      } else {
        response.set(name, value);
      }
    }
    response.body() = r.out.substr(end + separator);
    if (response.result() == http::status::ok) {
      std::lock_guard lock(mutex_);
      ++served_;
    }
    return response;
  }

  const std::filesystem::path root_;
  const std::string token_;
  const bool tls_;
  std::filesystem::path certificate_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::mutex mutex_;
  std::vector<std::string> credentials_;
  int served_ = 0;
  std::thread thread_;  // last: runs once everything else exists
};

}  // namespace hephy
