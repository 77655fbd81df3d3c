// hephyd's Kubernetes API client: a connection of its own for every request
// (the executor makes few), so that a Stream on one thread and Requests on
// others share nothing but the immutable TLS settings.
#include "executors/kube_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "net/beast.h"
#include "net/http_connection.h"
#include "net/tls_failure.h"

namespace hephy {
namespace {

using tcp = net::ip::tcp;

// A pod list or a log read whole; a watch event is one line of a stream.
constexpr size_t kMaxBody = 64 * 1024 * 1024;
constexpr size_t kMaxLine = 64 * 1024 * 1024;

std::string Trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// The API server's answer to a failed request, in its own words when the
// body is a Status object.
KubeError StatusError(const std::string& what, int status, const std::string& phrase,
                      const std::string& body) {
  std::string reason;
  std::string message;
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("kind") && json["kind"] == "Status") {
    if (json.contains("reason") && json["reason"].is_string()) reason = json["reason"];
    if (json.contains("message") && json["message"].is_string()) message = json["message"];
  } else {
    // Not from the API server itself (a proxy, a load balancer): its first line.
    message = Trimmed(body.substr(0, body.find('\n')));
    if (message.size() > 200) message = message.substr(0, 200) + "...";
  }
  std::string text = what + ": " + std::to_string(status) + " " + phrase;
  if (!message.empty()) text += ": " + message;
  return KubeError(status, reason, text);
}

// Thrown inside a Stream that a stop request interrupted.
struct Interrupted {};

using Parser = http::response_parser<http::buffer_body>;

// The API server as the cluster's URL names it, and the TLS settings of
// every connection to it (only read once made: OpenSSL lets any number of
// threads make connections from one context at once).
struct Server {
  bool tls = true;
  HostPort host;
  std::string path_prefix;  // of a server URL with a path, e.g. a proxy's
  std::optional<net::ssl::context> ssl;

  std::string Url() const { return (tls ? "https://" : "http://") + host.Authority(); }
};

// One request's connection, from connecting to the end of its response.
class Connection {
 public:
  Connection(Server& server, const KubeCluster& cluster, std::chrono::milliseconds timeout,
             std::string what)
      : server_(server), cluster_(cluster), timeout_(timeout), what_(std::move(what)) {}

  // Connects (with the TLS handshake). Throws ConnectionError when the server
  // cannot be reached, Error when its certificate is refused.
  void Open() {
    beast::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints =
        resolver.resolve(server_.host.host, std::to_string(server_.host.port), ec);
    if (ec) {
      throw ConnectionError(what_ + ": cannot resolve '" + server_.host.host +
                            "': " + ec.message());
    }
    if (server_.ssl) {
      tls_.emplace(io_, *server_.ssl);
    } else {
      plain_.emplace(io_);
    }
    tcp().expires_after(timeout_);
    ec = Run([&](auto done) { tcp().async_connect(endpoints, done); });
    if (ec) {
      throw ConnectionError(what_ + ": cannot connect to " + server_.Url() + ": " +
                            (ec == beast::error::timeout
                                 ? "no answer within " + TimeoutText(timeout_)
                                 : ec.message()));
    }
    tcp().socket().set_option(tcp::no_delay(true), ec);
    if (!tls_) return;

    SSL* ssl = tls_->native_handle();
    const std::string& name = server_.host.host;
    const bool ip = IsIpAddress(name);
    if (!cluster_.insecure_skip_tls_verify) {
      // OpenSSL checks during the handshake that the certificate names the
      // host as the URL does: an IP address against IP SANs, a name against
      // DNS SANs.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int named = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      if (named != 1) throw Error(what_ + ": TLS: cannot verify the name '" + name + "'");
    }
    // SNI carries names only (RFC 6066).
    if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      throw Error(what_ + ": TLS: cannot send the name '" + name + "'");
    }
    tcp().expires_after(timeout_);
    ec = Run([&](auto done) { tls_->async_handshake(net::ssl::stream_base::client, done); });
    if (ec == beast::error::timeout) {
      throw ConnectionError(what_ + ": TLS handshake with " + server_.Url() +
                            ": no answer within " + TimeoutText(timeout_));
    }
    if (ec) {
      throw Error(what_ + ": TLS handshake with " + server_.Url() +
                  " failed: " + HandshakeFailure(ec, ssl));
    }
  }

  void Write(http::request<http::string_body>& request) {
    tcp().expires_after(timeout_);
    const beast::error_code ec =
        Run([&](auto done) { WithStream([&](auto& s) { http::async_write(s, request, done); }); });
    if (ec == beast::error::timeout) {
      throw ConnectionError(what_ + ": cannot send the request within " + TimeoutText(timeout_));
    }
    if (ec) Fail("cannot send the request", ec);
  }

  void ReadHead(Parser& parser) {
    tcp().expires_after(timeout_);
    const beast::error_code ec = Run([&](auto done) {
      WithStream([&](auto& s) { http::async_read_header(s, buffer_, parser, done); });
    });
    if (ec == beast::error::timeout) {
      throw ConnectionError(what_ + ": no response within " + TimeoutText(timeout_));
    }
    if (ec) {
      Fail(parser.got_some() ? "malformed response" : "connection closed without a response", ec);
    }
  }

  // The time left for the rest of the response: `timeout`, or no limit.
  void Deadline() { tcp().expires_after(timeout_); }
  void NoDeadline() { tcp().expires_never(); }

  // Appends the body's next bytes (as many as have arrived) to `out`; false
  // once the body has ended.
  bool ReadSome(Parser& parser, std::string& out) {
    if (parser.is_done()) return false;
    char piece[16 * 1024];
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    beast::error_code ec = Run([&](auto done) {
      WithStream([&](auto& s) { http::async_read_some(s, buffer_, parser, done); });
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec == beast::error::timeout) {
      throw ConnectionError(what_ + ": the response did not end within " + TimeoutText(timeout_));
    }
    if (ec) Fail("the response broke off", ec);
    out.append(piece, sizeof piece - parser.get().body().size);
    return true;
  }

  // From any thread: ends the operation in progress at once, and makes it
  // and every later one throw Interrupted.
  void Interrupt() {
    interrupted_ = true;
    // The socket belongs to the thread running io_; the cancellation runs
    // there, during the operation it ends (or the next one's).
    net::post(io_, [this] {
      if (plain_ || tls_) tcp().close();
    });
  }

 private:
  beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  template <class F>
  void WithStream(F f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  // Starts one asynchronous operation and runs it to its end. They are
  // asynchronous because tcp_stream's expiry (the timeout) and a cancel from
  // another thread apply to asynchronous operations alone.
  template <class Start>
  beast::error_code Run(Start start) {
    beast::error_code ec;
    start([&ec](beast::error_code e, auto&&...) { ec = e; });
    io_.restart();
    io_.run();
    if (interrupted_) throw Interrupted{};
    return ec;
  }

  [[noreturn]] void Fail(const std::string& doing, const beast::error_code& ec) {
    // The server ending the TLS session (a refused client certificate) is not
    // a network failure: trying again will not help.
    if (ec.category() == net::error::get_ssl_category()) {
      throw Error(what_ + ": " + doing + ": TLS: " + SslReason(ec));
    }
    throw ConnectionError(what_ + ": " + doing + ": " + ec.message());
  }

  Server& server_;
  const KubeCluster& cluster_;
  const std::chrono::milliseconds timeout_;
  const std::string what_;
  std::atomic<bool> interrupted_ = false;
  beast::flat_buffer buffer_;
  net::io_context io_;  // before the streams, which use it
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

// The request with the headers every request carries.
http::request<http::string_body> MakeRequest(const Server& server, const KubeCluster& cluster,
                                             http::verb verb, const std::string& target,
                                             const std::string& accept,
                                             const std::optional<nlohmann::json>& body) {
  http::request<http::string_body> request{verb, server.path_prefix + target, 11};
  request.set(http::field::host, server.host.Authority());
  request.set(http::field::user_agent, "hephyd/" HEPHY_VERSION);
  request.set(http::field::accept, accept);
  std::string token = cluster.token;
  if (!cluster.token_file.empty()) {
    // Read every time: the kubelet rotates projected tokens in place.
    std::ifstream in(cluster.token_file, std::ios::binary);
    if (!in) {
      throw Error("token file " + cluster.token_file.string() +
                  ": cannot read: " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    token = Trimmed(text.str());
  }
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (body) {
    request.set(http::field::content_type, "application/json");
    request.body() = body->dump();
  }
  request.keep_alive(false);
  request.prepare_payload();
  return request;
}

// Reads the rest of a response whose status is not 2xx and throws it.
[[noreturn]] void ThrowStatus(Connection& connection, Parser& parser, const std::string& what) {
  std::string body;
  connection.Deadline();
  while (body.size() < kMaxBody && connection.ReadSome(parser, body)) {
  }
  const auto& head = parser.get();
  std::string phrase(head.reason());
  if (phrase.empty()) phrase = std::string(http::obsolete_reason(head.result()));
  throw StatusError(what, static_cast<int>(head.result_int()), phrase, body);
}

// Sends `request` and reads the response's head into `parser`; throws the
// response of a status other than 2xx. The body is the caller's to read.
void Begin(Connection& connection, http::request<http::string_body>& request, Parser& parser,
           const std::string& what) {
  connection.Open();
  connection.Write(request);
  // Beast 1.74 takes no boost::none (it would read as 0); the callers bound
  // what they keep.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  connection.ReadHead(parser);
  if (parser.get().result_int() / 100 != 2) ThrowStatus(connection, parser, what);
}

}  // namespace

struct KubeClient::Impl {
  Server server;
};

KubeClient::KubeClient(KubeCluster cluster, std::chrono::milliseconds timeout)
    : cluster_(std::move(cluster)), timeout_(timeout), impl_(std::make_unique<Impl>()) {
  const std::string& server = cluster_.server;
  const auto fail = [&](const std::string& why) {
    throw Error("Kubernetes API server '" + server + "': " + why);
  };
  std::string rest = server;
  if (rest.starts_with("https://")) {
    rest.erase(0, 8);
  } else if (rest.starts_with("http://")) {
    impl_->server.tls = false;
    rest.erase(0, 7);
  } else if (rest.find("://") != std::string::npos) {
    fail("only http:// and https:// are supported");
  }  // else host:port, which kubectl takes as https
  const auto slash = rest.find('/');
  try {
    impl_->server.host = ParseHostPort(rest.substr(0, slash), impl_->server.tls ? 443 : 80);
  } catch (const Error& e) {
    fail(e.what());
  }
  if (slash != std::string::npos) {
    impl_->server.path_prefix = rest.substr(slash);
    while (impl_->server.path_prefix.ends_with('/')) impl_->server.path_prefix.pop_back();
    if (impl_->server.path_prefix.find_first_of("?#") != std::string::npos) {
      fail("a query or fragment is not expected");
    }
  }
  if (cluster_.client_cert_pem.empty() != cluster_.client_key_pem.empty()) {
    throw Error("client certificate: both the certificate and its key are needed");
  }
  if (!impl_->server.tls) return;

  auto& ssl = impl_->server.ssl.emplace(net::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ssl.native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  if (cluster_.insecure_skip_tls_verify) {
    ssl.set_verify_mode(net::ssl::verify_none);
  } else {
    ssl.set_verify_mode(net::ssl::verify_peer);
    if (cluster_.ca_pem.empty()) {
      ssl.set_default_verify_paths(ec);
      if (ec) throw Error("cannot load the system's CA certificates: " + SslReason(ec));
    } else {
      ssl.add_certificate_authority(net::buffer(cluster_.ca_pem), ec);
      if (ec) throw Error("certificate authority: not PEM certificates: " + SslReason(ec));
    }
  }
  if (!cluster_.client_cert_pem.empty()) {
    ssl.use_certificate_chain(net::buffer(cluster_.client_cert_pem), ec);
    if (ec) throw Error("client certificate: not a PEM certificate: " + SslReason(ec));
    ssl.use_private_key(net::buffer(cluster_.client_key_pem), net::ssl::context::pem, ec);
    if (ec) throw Error("client key: not a PEM private key: " + SslReason(ec));
    if (SSL_CTX_check_private_key(ssl.native_handle()) != 1) {
      throw Error("client key: does not match the client certificate");
    }
  }
}

KubeClient::~KubeClient() = default;

nlohmann::json KubeClient::Request(const std::string& method, const std::string& target,
                                   const std::optional<nlohmann::json>& body) {
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) throw Error("unknown HTTP method '" + method + "'");
  const std::string what = method + " " + target;
  auto request = MakeRequest(impl_->server, cluster_, verb, target, "application/json", body);
  Connection connection(impl_->server, cluster_, timeout_, what);
  Parser parser;
  Begin(connection, request, parser, what);
  std::string text;
  connection.Deadline();
  while (connection.ReadSome(parser, text)) {
    if (text.size() > kMaxBody) throw Error(what + ": response larger than 64 MiB");
  }
  if (Trimmed(text).empty()) return nullptr;
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": the answer is not JSON: " + e.what());
  }
}

bool KubeClient::Stream(const std::string& target,
                        const std::function<bool(std::string_view line)>& on_line,
                        std::stop_token stop) {
  const std::string what = "GET " + target;
  // Logs are text/plain: a client that accepts JSON alone would be refused.
  auto request = MakeRequest(impl_->server, cluster_, http::verb::get, target,
                             "application/json, */*", std::nullopt);
  Connection connection(impl_->server, cluster_, timeout_, what);
  const std::stop_callback interrupt(stop, [&connection] { connection.Interrupt(); });
  try {
    Parser parser;
    Begin(connection, request, parser, what);
    connection.NoDeadline();
    std::string pending;
    const auto hand_on = [&](std::string_view line) {
      if (line.ends_with('\r')) line.remove_suffix(1);
      return on_line(line);
    };
    for (;;) {
      const size_t scanned = pending.size();
      const bool more = connection.ReadSome(parser, pending);
      size_t start = 0;
      for (size_t end = pending.find('\n', scanned); end != std::string::npos;
           end = pending.find('\n', start)) {
        if (!hand_on(std::string_view(pending).substr(start, end - start))) return false;
        start = end + 1;
      }
      pending.erase(0, start);
      if (pending.size() > kMaxLine) throw Error(what + ": a line longer than 64 MiB");
      if (!more) return pending.empty() || hand_on(pending);
    }
  } catch (const Interrupted&) {
    return false;
  }
}

std::string KubeQueryEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

}  // namespace hephy
