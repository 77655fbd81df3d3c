#include "net/http_connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "hephy/error.h"
#include "net/beast.h"
#include "net/tls_failure.h"
#include "util/ascii.h"

namespace hephy {
namespace {

using tcp = net::ip::tcp;

std::string Size(size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// The ways a server shows that it closed a kept-alive connection while it
// was idle: the request then never reached it and may be sent again.
bool IsClosedByPeer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::ssl::error::stream_truncated;
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

bool IsLoopbackHost(const std::string& host) {
  std::string lower = AsciiLower(host);
  if (lower.ends_with('.')) lower.pop_back();
  if (lower == "localhost" || lower.ends_with(".localhost")) return true;
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

struct TlsContext::Impl {
  net::ssl::context context{net::ssl::context::tls_client};
};

TlsContext::TlsContext(const std::filesystem::path& ca_file) : impl_(std::make_unique<Impl>()) {
  auto& context = impl_->context;
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.set_verify_mode(net::ssl::verify_peer);
  beast::error_code ec;
  context.set_default_verify_paths(ec);
  if (ec) throw Error("cannot load the system's CA certificates: " + ec.message());
  if (!ca_file.empty()) {
    std::error_code exists;
    if (!std::filesystem::is_regular_file(ca_file, exists)) {
      throw Error("CA file " + ca_file.string() + ": no such file");
    }
    context.load_verify_file(ca_file.string(), ec);
    if (ec) {
      const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
      throw Error("CA file " + ca_file.string() +
                  ": not PEM certificates: " + (reason != nullptr ? reason : ec.message()));
    }
  }
}

TlsContext::~TlsContext() = default;

std::string HttpResponse::Header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct HttpConnection::Stream {
  net::io_context io;
  // One of the two while a connection is open.
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  bool open() const { return plain || tls; }
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Drives the one pending asynchronous operation to its end. The operations
  // are asynchronous only because tcp_stream's expiry, which turns a stalled
  // connect, handshake, write or read into beast::error::timeout, applies to
  // those alone.
  void RunPending() {
    io.restart();
    io.run();
  }
};

HttpConnection::HttpConnection(HostPort server, std::chrono::milliseconds timeout, size_t max_body,
                               TlsContext* tls)
    : server_(std::move(server)),
      timeout_(timeout),
      max_body_(max_body),
      tls_(tls),
      stream_(std::make_unique<Stream>()) {}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Close() {
  Stream& s = *stream_;
  if (!s.open()) return;
  // No TLS close_notify: waiting for the server's answer to it could stall,
  // and nothing more is read from this connection.
  beast::error_code ignored;
  s.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  s.tcp().close();
  s.tls.reset();
  s.plain.reset();
  s.buffer.consume(s.buffer.size());
}

void HttpConnection::Connect() {
  Stream& s = *stream_;
  // getaddrinfo cannot be cancelled; the resolver's own timeouts bound it.
  beast::error_code ec;
  tcp::resolver resolver(s.io);
  const auto endpoints = resolver.resolve(server_.host, std::to_string(server_.port), ec);
  if (ec) throw ConnectionError("cannot resolve '" + server_.host + "': " + ec.message());
  if (tls_ != nullptr) {
    s.tls.emplace(s.io, tls_->impl_->context);
  } else {
    s.plain.emplace(s.io);
  }
  s.tcp().expires_after(timeout_);
  s.tcp().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  s.RunPending();
  if (ec) {
    Close();
    if (ec == beast::error::timeout) {
      throw ConnectionError("cannot connect: no answer within " + TimeoutText(timeout_));
    }
    throw ConnectionError("cannot connect: " + ec.message());
  }
  s.tcp().socket().set_option(tcp::no_delay(true), ec);
  if (!s.tls) return;

  SSL* ssl = s.tls->native_handle();
  // The certificate must name the host as the url does: an IP address
  // against its IP SANs, a DNS name against its DNS SANs (wildcards allowed).
  // OpenSSL checks it during the handshake and says "hostname mismatch".
  const bool ip = IsIpAddress(server_.host);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int named = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_.host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, server_.host.c_str(), 0);
  // SNI carries names only (RFC 6066).
  if (named != 1 || (!ip && SSL_set_tlsext_host_name(ssl, server_.host.c_str()) != 1)) {
    Close();
    throw Error("TLS: cannot use '" + server_.host + "' as the name to verify");
  }
  s.tcp().expires_after(timeout_);
  s.tls->async_handshake(net::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  s.RunPending();
  if (ec) {
    const std::string why = ec == beast::error::timeout
                                ? "no answer within " + TimeoutText(timeout_)
                                : HandshakeFailure(ec, ssl);
    Close();
    throw Error("TLS handshake failed: " + why);
  }
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
  // The exchange, written once for both kinds of stream.
  const auto exchange = [&](auto& stream, bool reused) -> HttpResponse {
    beast::error_code ec;
    s.tcp().expires_after(timeout_);
    http::async_write(stream, message, [&](beast::error_code e, size_t) { ec = e; });
    s.RunPending();
    if (ec) {
      if (reused && IsClosedByPeer(ec)) throw StaleConnection{};
      Close();
      if (ec == beast::error::timeout) {
        throw ConnectionError("cannot send the request within " + TimeoutText(timeout_));
      }
      throw ConnectionError("cannot send the request: " + ec.message());
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body_);
    // A response to HEAD announces a body it does not send.
    if (verb == http::verb::head) parser.skip(true);
    s.tcp().expires_after(timeout_);
    // Header first: Beast 1.74 ignores body_limit for a Content-Length
    // body parsed eagerly, as http::read does, so the length is checked here.
    http::async_read_header(stream, s.buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
    s.RunPending();
    if (!ec && parser.content_length().value_or(0) > max_body_) ec = http::error::body_limit;
    if (!ec && !parser.is_done()) {
      http::async_read(stream, s.buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
      s.RunPending();
    }
    if (ec) {
      if (reused && !parser.got_some() && IsClosedByPeer(ec)) {
        throw StaleConnection{};
      }
      Close();
      if (ec == beast::error::timeout)
        throw ConnectionError("no response within " + TimeoutText(timeout_));
      if (ec == http::error::body_limit) {
        throw Error("response body larger than the limit of " + Size(max_body_));
      }
      if (!parser.got_some())
        throw ConnectionError("connection closed without a response: " + ec.message());
      throw Error("malformed HTTP response: " + ec.message());
    }

    auto response = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(response.result_int());
    out.reason = std::string(response.reason());
    if (out.reason.empty()) out.reason = std::string(http::obsolete_reason(response.result()));
    for (const auto& field : response) {
      std::string& value = out.headers[AsciiLower(std::string(field.name_string()))];
      value += (value.empty() ? "" : ", ") + std::string(field.value());
    }
    out.body = std::move(response.body());
    if (!response.keep_alive()) Close();
    return out;
  };

  for (;;) {
    const bool reused = s.open();
    if (!s.open()) Connect();
    try {
      return s.tls ? exchange(*s.tls, reused) : exchange(*s.plain, reused);
    } catch (const StaleConnection&) {
      Close();
    }
  }
}

HttpLocation ResolveLocation(const HostPort& self, bool self_tls, const std::string& base,
                             const std::string& location) {
  const auto scheme_end = location.find("://");
  if (scheme_end != std::string::npos) {
    const std::string scheme = AsciiLower(location.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") {
      throw Error("location '" + location + "': only http and https are supported");
    }
    const bool tls = scheme == "https";
    if (self_tls && !tls) {
      throw Error("location '" + location + "': refusing to leave https for plain http");
    }
    const std::string rest = location.substr(scheme_end + 3);
    const auto path = rest.find_first_of("/?");
    const HostPort other = ParseHostPort(rest.substr(0, path), tls ? 443 : 80);
    std::string target = path == std::string::npos ? "/" : rest.substr(path);
    if (target.front() == '?') target.insert(0, "/");
    const bool same = tls == self_tls && AsciiLower(other.host) == AsciiLower(self.host) &&
                      other.port == self.port;
    return {same ? "" : other.Authority(), target, tls};
  }
  if (location.starts_with("//")) {
    return ResolveLocation(self, self_tls, base, (self_tls ? "https:" : "http:") + location);
  }
  if (location.starts_with("/")) return {"", location, self_tls};
  // A relative reference replaces the last segment of the base path.
  const std::string base_path = base.substr(0, base.find('?'));
  return {"", base_path.substr(0, base_path.rfind('/') + 1) + location, self_tls};
}

}  // namespace hephy
