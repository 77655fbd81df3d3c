// A registry's token service for tests, over plain HTTP on 127.0.0.1: the
// docker token protocol (distribution's docs/spec/auth/token.md and
// oauth.md) for one user, issuing RS256 JWTs a docker-registry configured
// with `auth: token` (service(), issuer(), certificate()) accepts.
//
//   GET /token?service=S&scope=T:NAME:ACTIONS[&scope=...] with Basic
//   credentials: a token granting the user what it asked for (as far as
//   set_granted_actions allows); without credentials: an anonymous token
//   granting nothing; wrong credentials: 401. Answers {"token", "access_token",
//   "expires_in", "issued_at"}.
//   POST /token, form grant_type=password (username, password) or
//   grant_type=refresh_token (refresh_token), with service, client_id and
//   scope (space-separated, or repeated): {"access_token", "expires_in"}, and
//   "refresh_token" for a password grant with access_type=offline when one is
//   set. A wrong password or refresh token: 401 {"error": "invalid_grant"}.
//
// Every request is recorded for the test's assertions. Thread-safe.
#pragma once

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "loopback_http_server.h"
#include "percent_decode.h"
#include "registry/token_signer.h"
#include "test_dir.h"
#include "util/base64.h"

namespace hephy {

class TokenIssuer {
 public:
  // What the issuer was asked, in the order the answers were sent.
  struct Request {
    std::string method;      // "GET" or "POST"
    std::string grant_type;  // POST only
    std::vector<std::string> scopes;
    bool authorization = false;  // came with an Authorization header
    int status = 0;              // the issuer's answer
  };

  // Issues tokens for `user` with `password`. Makes its RSA key first
  // (hephyd's TokenSigner, a fraction of a second), then listens on a free
  // port.
  TokenIssuer(std::string user, std::string password)
      : user_(std::move(user)),
        password_(std::move(password)),
        signer_(dir_.path()),
        server_([this] { return [this](const Http::Request& r) { return Handle(r); }; }) {}
  TokenIssuer(const TokenIssuer&) = delete;
  TokenIssuer& operator=(const TokenIssuer&) = delete;

  // "http://127.0.0.1:PORT/token": the registry's auth.token.realm.
  std::string realm() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/token";
  }
  // The registry's auth.token.service: the aud of every token.
  std::string service() const { return "hephy-test-registry"; }
  // The registry's auth.token.issuer: the iss of every token.
  std::string issuer() const { return "hephy-test-token-issuer"; }
  // The signing key's certificate (PEM): the registry's auth.token.rootcertbundle.
  const std::filesystem::path& certificate() const { return signer_.certificate_path(); }

  // The lifetime of tokens issued from now on, as expires_in says and as
  // their exp claim ends (default 300 s). docker-registry accepts a token up
  // to 60 s past its exp.
  void set_expires_in(int seconds) {
    std::lock_guard lock(mutex_);
    expires_in_ = seconds;
  }
  // Which actions the user may get, of those it asks for (default pull and
  // push); a scope whose actions are all refused is left out of the token.
  void set_granted_actions(std::vector<std::string> actions) {
    std::lock_guard lock(mutex_);
    granted_ = std::move(actions);
  }
  // Whether tokens issued from now on are already expired (exp two minutes
  // past, beyond docker-registry's leeway) while expires_in still promises
  // their whole lifetime: the registry refuses a token its client trusts.
  void set_issue_expired(bool expired) {
    std::lock_guard lock(mutex_);
    issue_expired_ = expired;
  }
  // The refresh token POST grant_type=refresh_token accepts, and a password
  // grant with access_type=offline returns; empty (the default): none.
  void set_refresh_token(std::string token) {
    std::lock_guard lock(mutex_);
    refresh_token_ = std::move(token);
  }

  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // How many GET (POST) requests came, answered or refused.
  int get_requests() const {
    return Count([](const Request& r) { return r.method == "GET"; });
  }
  int post_requests() const {
    return Count([](const Request& r) { return r.method == "POST"; });
  }
  // How many requests asked for `scope` ("repository:web:pull,push"), spelt
  // exactly so.
  int requests_for(const std::string& scope) const {
    return Count([&](const Request& r) {
      return std::find(r.scopes.begin(), r.scopes.end(), scope) != r.scopes.end();
    });
  }
  // Whether the last request came with an Authorization header; false before any.
  bool last_had_authorization() const {
    std::lock_guard lock(mutex_);
    return !requests_.empty() && requests_.back().authorization;
  }

 private:
  using Http = LoopbackHttpServer;
  using Params = std::multimap<std::string, std::string>;

  template <class Predicate>
  int Count(Predicate predicate) const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count_if(requests_.begin(), requests_.end(), predicate));
  }

  // A query string or an application/x-www-form-urlencoded body.
  static Params ParseForm(std::string_view text) {
    Params params;
    while (!text.empty()) {
      const std::string_view pair = text.substr(0, text.find('&'));
      text.remove_prefix(std::min(text.size(), pair.size() + 1));
      const size_t equals = pair.find('=');
      params.emplace(
          PercentDecode(pair.substr(0, equals)),
          equals == std::string_view::npos ? "" : PercentDecode(pair.substr(equals + 1)));
    }
    return params;
  }

  static std::string Param(const Params& params, const std::string& name) {
    const auto it = params.find(name);
    return it == params.end() ? "" : it->second;
  }

  // Every scope parameter, each split at spaces (oauth.md sends them joined).
  static std::vector<std::string> Scopes(const Params& params) {
    std::vector<std::string> scopes;
    const auto [begin, end] = params.equal_range("scope");
    for (auto it = begin; it != end; ++it) {
      std::istringstream words(it->second);
      for (std::string scope; words >> scope;) scopes.push_back(scope);
    }
    return scopes;
  }

  static std::string Rfc3339(std::chrono::system_clock::time_point at) {
    const time_t seconds = std::chrono::system_clock::to_time_t(at);
    tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
  }

  static Http::Response Json(boost::beast::http::status status, const nlohmann::json& body) {
    Http::Response response{status, 11};
    response.set(boost::beast::http::field::content_type, "application/json");
    response.body() = body.dump();
    return response;
  }

  // A JWT for `subject` ("" anonymous) granting what `scopes` ask for, as far
  // as the configuration allows (nothing to anonymous), valid from `now` for
  // `lifetime` seconds.
  std::string Token(const std::string& subject, const std::vector<std::string>& scopes,
                    std::chrono::system_clock::time_point now, int lifetime) {
    nlohmann::json access = nlohmann::json::array();
    std::vector<std::string> granted;
    {
      std::lock_guard lock(mutex_);
      if (!subject.empty()) granted = granted_;
    }
    for (const auto& scope : scopes) {
      // TYPE:NAME:ACTIONS; a name may hold a colon (a registry's host:port).
      const size_t first = scope.find(':'), last = scope.rfind(':');
      if (first == std::string::npos || first == last) continue;
      nlohmann::json actions = nlohmann::json::array();
      std::istringstream asked(scope.substr(last + 1));
      for (std::string action; std::getline(asked, action, ',');) {
        if (std::find(granted.begin(), granted.end(), action) != granted.end()) {
          actions.push_back(action);
        }
      }
      if (actions.empty()) continue;
      access.push_back({{"type", scope.substr(0, first)},
                        {"name", scope.substr(first + 1, last - first - 1)},
                        {"actions", actions}});
    }
    const auto epoch = [](std::chrono::system_clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    };
    // docker-registry 2.8 reads aud as one string: an array makes the token
    // "malformed".
    return signer_.Sign({{"iss", issuer()},
                         {"sub", subject},
                         {"aud", service()},
                         {"exp", epoch(now) + lifetime},
                         {"nbf", epoch(now)},
                         {"iat", epoch(now)},
                         {"jti", "hephy-test-" + std::to_string(++issued_)},
                         {"access", access}});
  }

  Http::Response Handle(const Http::Request& http_request) {
    namespace http = boost::beast::http;
    Request request;
    request.method = std::string(http_request.method_string());
    request.authorization = http_request.find(http::field::authorization) != http_request.end();
    Http::Response response = Answer(http_request, request);
    request.status = static_cast<int>(response.result_int());
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
    return response;
  }

  Http::Response Answer(const Http::Request& http_request, Request& request) {
    namespace http = boost::beast::http;
    const std::string target(http_request.target());
    const size_t question = target.find('?');
    if (target.substr(0, question) != "/token") {
      return Json(http::status::not_found, {{"error", "no such endpoint"}});
    }
    const bool get = http_request.method() == http::verb::get;
    if (!get && http_request.method() != http::verb::post) {
      return Json(http::status::method_not_allowed, {{"error", "GET or POST /token"}});
    }
    const Params params =
        ParseForm(get ? (question == std::string::npos ? "" : target.substr(question + 1))
                      : http_request.body());
    request.scopes = Scopes(params);
    request.grant_type = get ? "" : Param(params, "grant_type");
    if (Param(params, "service") != service()) {
      return Json(http::status::bad_request,
                  {{"error", "invalid_request"},
                   {"error_description",
                    "service is '" + Param(params, "service") + "', not '" + service() + "'"}});
    }

    int lifetime;
    std::string refresh_token;
    bool expired;
    {
      std::lock_guard lock(mutex_);
      lifetime = expires_in_;
      refresh_token = refresh_token_;
      expired = issue_expired_;
    }
    const auto now = std::chrono::system_clock::now();
    const auto issued_at =
        expired ? now - std::chrono::seconds(lifetime) - std::chrono::minutes(2) : now;
    if (get) {
      std::string subject;
      if (request.authorization) {
        const std::string authorization(http_request[http::field::authorization]);
        const auto credentials = authorization.starts_with("Basic ")
                                     ? Base64Decode(authorization.substr(6))
                                     : std::nullopt;
        if (credentials != user_ + ":" + password_) {
          Http::Response refused =
              Json(http::status::unauthorized,
                   {{"errors", {{{"code", "UNAUTHORIZED"}, {"message", "wrong credentials"}}}}});
          refused.set(http::field::www_authenticate, "Basic realm=\"hephy test token issuer\"");
          return refused;
        }
        subject = user_;
      }
      const std::string token = Token(subject, request.scopes, issued_at, lifetime);
      return Json(http::status::ok, {{"token", token},
                                     {"access_token", token},
                                     {"expires_in", lifetime},
                                     {"issued_at", Rfc3339(now)}});
    }

    if (Param(params, "client_id").empty()) {
      return Json(http::status::bad_request,
                  {{"error", "invalid_request"}, {"error_description", "client_id is required"}});
    }
    bool offline = false;
    if (request.grant_type == "password") {
      if (Param(params, "username") != user_ || Param(params, "password") != password_) {
        return Json(http::status::unauthorized, {{"error", "invalid_grant"}});
      }
      offline = Param(params, "access_type") == "offline" && !refresh_token.empty();
    } else if (request.grant_type == "refresh_token") {
      if (refresh_token.empty() || Param(params, "refresh_token") != refresh_token) {
        return Json(http::status::unauthorized, {{"error", "invalid_grant"}});
      }
    } else {
      return Json(http::status::bad_request, {{"error", "unsupported_grant_type"}});
    }
    nlohmann::json body = {{"access_token", Token(user_, request.scopes, issued_at, lifetime)},
                           {"expires_in", lifetime}};
    if (offline) body["refresh_token"] = refresh_token;
    return Json(http::status::ok, body);
  }

  const std::string user_;
  const std::string password_;
  TestDir dir_;
  TokenSigner signer_;

  mutable std::mutex mutex_;
  int expires_in_ = 300;
  std::vector<std::string> granted_ = {"pull", "push"};
  std::string refresh_token_;
  bool issue_expired_ = false;
  std::vector<Request> requests_;
  std::atomic<int> issued_ = 0;

  LoopbackHttpServer server_;  // last: serves once everything else exists
};

}  // namespace hephy
