#include "http_connection.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

#include "hephy/error.h"

namespace hephy {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

std::string Size(size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// The ways a server shows that it closed a kept-alive connection while it
// was idle: the request then never reached it and may be sent again.
bool IsClosedByPeer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

// Thrown inside Send when a reused connection turned out to be closed.
struct StaleConnection {};

}  // namespace

std::string HostPort::Authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

HostPort ParseHostPort(const std::string& text, uint16_t default_port) {
  const auto fail = [&](const std::string& why) {
    throw Error("'" + text + "': " + why + " (expected host[:port], e.g. 127.0.0.1:5000)");
  };
  if (text.find("://") != std::string::npos) fail("no scheme expected");
  if (text.find_first_of("/?#@ \t") != std::string::npos) fail("not a host and port");
  HostPort out{.port = default_port};
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) fail("unterminated '['");
    out.host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') fail("expected ':' after ']'");
      port_text = rest.substr(1);
      if (port_text.empty()) fail("empty port");
    }
  } else {
    const auto colon = text.find(':');
    if (colon != text.rfind(':')) fail("an IPv6 address needs brackets");
    out.host = text.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) fail("empty port");
    }
  }
  if (out.host.empty()) fail("empty host");
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port_text) == 0 || std::stoi(port_text) > 65535) {
      fail("bad port '" + port_text + "'");
    }
    out.port = static_cast<uint16_t>(std::stoi(port_text));
  }
  return out;
}

std::string HttpResponse::Header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct HttpConnection::Stream {
  net::io_context io;
  beast::tcp_stream socket{io};
  beast::flat_buffer buffer;
  bool open = false;

  // Drives the one pending asynchronous operation to its end. The operations
  // are asynchronous only because tcp_stream's expiry, which turns a stalled
  // connect, write or read into beast::error::timeout, applies to those alone.
  void RunPending() {
    io.restart();
    io.run();
  }
};

HttpConnection::HttpConnection(HostPort server, std::chrono::milliseconds timeout, size_t max_body)
    : server_(std::move(server)),
      timeout_(timeout),
      max_body_(max_body),
      stream_(std::make_unique<Stream>()) {}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Close() {
  if (!stream_->open) return;
  beast::error_code ignored;
  stream_->socket.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_->socket.close();
  stream_->buffer.consume(stream_->buffer.size());
  stream_->open = false;
}

HttpResponse HttpConnection::Send(const HttpRequest& request) {
  const http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) throw Error("unknown HTTP method '" + request.method + "'");
  http::request<http::string_body> message{verb, request.target, 11};
  message.set(http::field::host, server_.Authority());
  message.set(http::field::user_agent, "hephyd/" HEPHY_VERSION);
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.body() = request.body;
  message.prepare_payload();

  Stream& s = *stream_;
  for (;;) {
    const bool reused = s.open;
    if (!s.open) {
      // getaddrinfo cannot be cancelled; the resolver's own timeouts bound it.
      beast::error_code ec;
      tcp::resolver resolver(s.io);
      const auto endpoints = resolver.resolve(server_.host, std::to_string(server_.port), ec);
      if (ec) throw Error("cannot resolve '" + server_.host + "': " + ec.message());
      s.socket.expires_after(timeout_);
      s.socket.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
      s.RunPending();
      if (ec == beast::error::timeout)
        throw Error("cannot connect: no answer within " + Duration(timeout_));
      if (ec) throw Error("cannot connect: " + ec.message());
      s.socket.socket().set_option(tcp::no_delay(true), ec);
      s.open = true;
    }
    try {
      beast::error_code ec;
      s.socket.expires_after(timeout_);
      http::async_write(s.socket, message, [&](beast::error_code e, size_t) { ec = e; });
      s.RunPending();
      if (ec) {
        if (reused && IsClosedByPeer(ec)) throw StaleConnection{};
        Close();
        if (ec == beast::error::timeout) {
          throw Error("cannot send the request within " + Duration(timeout_));
        }
        throw Error("cannot send the request: " + ec.message());
      }

      http::response_parser<http::string_body> parser;
      parser.body_limit(max_body_);
      // A response to HEAD announces a body it does not send.
      if (verb == http::verb::head) parser.skip(true);
      s.socket.expires_after(timeout_);
      // Header first: Beast 1.74 ignores body_limit for a Content-Length
      // body parsed eagerly, as http::read does, so the length is checked here.
      http::async_read_header(s.socket, s.buffer, parser,
                              [&](beast::error_code e, size_t) { ec = e; });
      s.RunPending();
      if (!ec && parser.content_length().value_or(0) > max_body_) ec = http::error::body_limit;
      if (!ec && !parser.is_done()) {
        http::async_read(s.socket, s.buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
        s.RunPending();
      }
      if (ec) {
        if (reused && !parser.got_some() && IsClosedByPeer(ec)) {
          throw StaleConnection{};
        }
        Close();
        if (ec == beast::error::timeout) throw Error("no response within " + Duration(timeout_));
        if (ec == http::error::body_limit) {
          throw Error("response body larger than the limit of " + Size(max_body_));
        }
        if (!parser.got_some())
          throw Error("connection closed without a response: " + ec.message());
        throw Error("malformed HTTP response: " + ec.message());
      }

      auto response = parser.release();
      HttpResponse out;
      out.status = static_cast<int>(response.result_int());
      out.reason = std::string(response.reason());
      if (out.reason.empty()) out.reason = std::string(http::obsolete_reason(response.result()));
      for (const auto& field : response) {
        std::string& value = out.headers[Lower(std::string(field.name_string()))];
        value += (value.empty() ? "" : ", ") + std::string(field.value());
      }
      out.body = std::move(response.body());
      if (!response.keep_alive()) Close();
      return out;
    } catch (const StaleConnection&) {
      Close();
    }
  }
}

HttpLocation ResolveLocation(const HostPort& self, const std::string& base,
                             const std::string& location) {
  const auto scheme_end = location.find("://");
  if (scheme_end != std::string::npos) {
    const std::string scheme = Lower(location.substr(0, scheme_end));
    if (scheme != "http") {
      throw Error("location '" + location + "': only http is supported so far");
    }
    const std::string rest = location.substr(scheme_end + 3);
    const auto path = rest.find_first_of("/?");
    const HostPort other = ParseHostPort(rest.substr(0, path), 80);
    std::string target = path == std::string::npos ? "/" : rest.substr(path);
    if (target.front() == '?') target.insert(0, "/");
    const bool same = Lower(other.host) == Lower(self.host) && other.port == self.port;
    return {same ? "" : other.Authority(), target};
  }
  if (location.starts_with("//")) {
    return ResolveLocation(self, base, "http:" + location);
  }
  if (location.starts_with("/")) return {"", location};
  // A relative reference replaces the last segment of the base path.
  const std::string base_path = base.substr(0, base.find('?'));
  return {"", base_path.substr(0, base_path.rfind('/') + 1) + location};
}

}  // namespace hephy
