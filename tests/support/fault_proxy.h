// A reverse proxy for tests of clients that must survive a registry's
// failures: plain HTTP on 127.0.0.1 in front of one plain HTTP upstream
// ("host:port"), forwarding every request as it came (method, target,
// headers with Host, whole bodies) and every answer as it went, except those
// the test tells it to fail. As Host is kept, a registry's absolute Location
// URLs point back at the proxy, so uploads go through it too.
//
// Each client connection has a thread and an upstream connection of its own;
// both are kept alive as long as the client keeps its own. Bodies are held in
// memory whole: meant for test images of a few MB. Thread-safe.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "hephy/error.h"
#include "loopback_http_server.h"
#include "net/http_connection.h"

namespace hephy {

class FaultProxy {
 public:
  // One request, in the order the proxy answered them.
  struct Logged {
    std::string method;
    std::string target;  // with its query
    // The answer's: the upstream's, a failure's, 502 when the upstream could
    // not be reached, 0 when the proxy closed without an answer.
    int status = 0;
  };

  static constexpr int kAlways = -1;
  // The body of a failure the proxy makes up, in the OCI distribution format.
  static constexpr char kErrorBody[] = R"({"errors":[{"code":"UNKNOWN","message":"injected"}]})";

  // Forwards to `upstream` ("host:port"); listens on a free port at once.
  explicit FaultProxy(const std::string& upstream)
      : upstream_(ParseHostPort(upstream, 80)), server_([this] {
          // One upstream connection per client connection, on its thread.
          auto connection = std::make_shared<HttpConnection>(upstream_, std::chrono::seconds(60),
                                                             size_t{1} << 30);
          return [this, connection](const LoopbackHttpServer::Request& request) {
            return Handle(*connection, request);
          };
        }) {}
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // "127.0.0.1:PORT": where clients go instead of the upstream.
  std::string url() const { return "127.0.0.1:" + std::to_string(server_.port()); }

  // Answers `times` (kAlways: every one) of the requests whose method is
  // `method` ("": any) and whose path (the target without its query) matches
  // the regular expression `path` as a whole, with `status` and kErrorBody
  // instead of forwarding them; later ones go through. The first rule added
  // that matches and still has failures to give answers. Returns the rule's
  // number, for matched() and injected().
  int Fail(const std::string& method, const std::string& path, int status, int times = 1) {
    return AddRule(method, path, status, times);
  }
  // Likewise, but closes the client's connection without an answer. A
  // client that retries on a kept-alive connection found closed (as
  // HttpConnection does once) sends the request again: that one counts too.
  int Drop(const std::string& method, const std::string& path, int times = 1) {
    return AddRule(method, path, 0, times);
  }

  // How many requests matched rule `rule`, failed or let through.
  int matched(int rule) const {
    std::lock_guard lock(mutex_);
    return rules_.at(rule).matched;
  }
  // How many of them the rule failed (or dropped).
  int injected(int rule) const {
    std::lock_guard lock(mutex_);
    return rules_.at(rule).injected;
  }
  // Every request so far.
  std::vector<Logged> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  // How many client connections were accepted so far.
  int connections() const { return server_.connections(); }

 private:
  struct Rule {
    std::string method;
    std::regex path;
    int status;  // 0: drop
    int times;
    int matched = 0;
    int injected = 0;
  };

  int AddRule(const std::string& method, const std::string& path, int status, int times) {
    std::lock_guard lock(mutex_);
    rules_.push_back({method, std::regex(path), status, times});
    return static_cast<int>(rules_.size()) - 1;
  }

  // Per connection (RFC 9110 7.6.1), or about a body the proxy forwards whole
  // with a Content-Length of its own.
  static bool HopByHop(const std::string& lower_name) {
    static const char* const kNames[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding",
        "te",         "trailer",    "upgrade",          "content-length",
        "expect"};
    return std::find(std::begin(kNames), std::end(kNames), lower_name) != std::end(kNames);
  }

  static std::string Lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  // The status to fail the request with (0: drop it), or nullopt to forward it.
  std::optional<int> Injected(const std::string& method, const std::string& path) {
    std::optional<int> outcome;
    std::lock_guard lock(mutex_);
    for (auto& rule : rules_) {
      if ((!rule.method.empty() && rule.method != method) || !std::regex_match(path, rule.path)) {
        continue;
      }
      ++rule.matched;
      if (!outcome && (rule.times == kAlways || rule.injected < rule.times)) {
        ++rule.injected;
        outcome = rule.status;
      }
    }
    return outcome;
  }

  std::optional<LoopbackHttpServer::Response> Handle(HttpConnection& upstream,
                                                     const LoopbackHttpServer::Request& request) {
    namespace http = boost::beast::http;
    const std::string method(request.method_string());
    const std::string target(request.target());
    const std::optional<int> injected = Injected(method, target.substr(0, target.find('?')));
    std::optional<LoopbackHttpServer::Response> response;
    if (injected && *injected == 0) {
      // Dropped: no answer.
    } else if (injected) {
      response.emplace(static_cast<http::status>(*injected), 11);
      response->set(http::field::content_type, "application/json");
      response->body() = kErrorBody;
    } else {
      response = Forward(upstream, request);
    }
    std::lock_guard lock(mutex_);
    log_.push_back({method, target, response ? static_cast<int>(response->result_int()) : 0});
    return response;
  }

  static LoopbackHttpServer::Response Forward(HttpConnection& upstream,
                                              const LoopbackHttpServer::Request& request) {
    namespace http = boost::beast::http;
    HttpRequest out{std::string(request.method_string()), std::string(request.target()), {}, ""};
    // Repeated fields (Go clients send one Accept per media type) joined, as
    // HttpConnection sets each name once.
    for (const auto& field : request) {
      const std::string name = Lower(std::string(field.name_string()));
      if (HopByHop(name)) continue;
      const auto same = std::find_if(out.headers.begin(), out.headers.end(),
                                     [&](const auto& header) { return header.first == name; });
      if (same == out.headers.end()) {
        out.headers.emplace_back(name, std::string(field.value()));
      } else {
        same->second += ", " + std::string(field.value());
      }
    }
    out.body = request.body();

    LoopbackHttpServer::Response response;
    try {
      HttpResponse in = upstream.Send(out);
      response.result(static_cast<unsigned>(in.status));
      response.reason(in.reason);
      for (const auto& [name, value] : in.headers) {
        // A response to HEAD keeps its Content-Length: the length of what GET
        // would have sent.
        if (HopByHop(name) && !(name == "content-length" && request.method() == http::verb::head)) {
          continue;
        }
        response.set(name, value);
      }
      response.body() = std::move(in.body);
    } catch (const Error& e) {
      response.result(http::status::bad_gateway);
      response.set(http::field::content_type, "text/plain");
      response.body() = std::string("fault proxy: ") + e.what() + "\n";
    }
    return response;
  }

  const HostPort upstream_;
  mutable std::mutex mutex_;
  std::vector<Rule> rules_;
  std::vector<Logged> log_;
  LoopbackHttpServer server_;  // last: serves once everything else exists
};

}  // namespace hephy
