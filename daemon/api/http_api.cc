#include "api/http_api.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/api_tokens.h"
#include "build/build_log_reader.h"
#include "executors/tar_stream.h"
#include "hephy/registry_client.h"
#include "hephy/store.h"
#include "registry/registry_access.h"
#include "store/build_json.h"
#include "store/rights.h"
#include "util/logging.h"
#include "util/metrics.h"

namespace hephy {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("http");
  return logger;
}

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 1000;
// A streamed log goes out in chunks of about this size, or smaller when the
// log has nothing more for now.
constexpr size_t kChunkBytes = 64 * 1024;
// Health checks must answer before a load balancer's probe gives up.
constexpr std::chrono::seconds kRegistryProbeTimeout{3};
constexpr std::chrono::seconds kCredentialHelperTimeout{5};

const std::string kChallenge = "Bearer realm=\"hephyd\"";

// Every answer of the API is private to its caller.
HttpServerResponse Json(int status, const json& body) {
  return {status, "application/json", {{"Cache-Control", "no-store"}}, body.dump() + "\n"};
}

ApiError Unauthorized(const std::string& message, bool bad_token) {
  return ApiError(
      401, message,
      {{"WWW-Authenticate", kChallenge + (bad_token ? ", error=\"invalid_token\"" : "")}});
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        throw ApiError(400, "malformed query: bad %-escape in '" + std::string(text) + "'");
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

// Refuses parameters the endpoint does not know: a misspelt one would
// otherwise be ignored silently.
void ExpectOnly(const std::map<std::string, std::string>& params,
                std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string expected;
      for (const auto k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
      throw ApiError(400, "unknown query parameter '" + name + "'" +
                              (expected.empty() ? " (this endpoint takes none)"
                                                : " (expected " + expected + ")"));
    }
  }
}

std::optional<std::string> Param(const std::map<std::string, std::string>& params,
                                 const std::string& name) {
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

int ParseLimit(const std::optional<std::string>& text) {
  if (!text) return kDefaultLimit;
  const bool digits = !text->empty() && text->size() <= 4 &&
                      text->find_first_not_of("0123456789") == std::string::npos;
  const int limit = digits ? std::stoi(*text) : 0;
  if (limit < 1 || limit > kMaxLimit) {
    throw ApiError(400, "limit must be a number from 1 to " + std::to_string(kMaxLimit) +
                            ", got '" + *text + "'");
  }
  return limit;
}

bool ParseFollow(const std::optional<std::string>& text) {
  if (!text || *text == "0" || *text == "false") return false;
  if (*text == "1" || *text == "true" || text->empty()) return true;
  throw ApiError(400, "follow must be 1 or 0 (true or false), got '" + *text + "'");
}

// The caller of one request and the database, opened when first needed.
class Request {
 public:
  Request(const Config& config, const HttpServerRequest& http) : config_(config), http_(http) {}

  Store& store() {
    if (!store_) {
      try {
        store_.emplace(config_.DatabasePath());
      } catch (const std::exception& e) {
        throw ApiError(503, std::string("database unavailable: ") + e.what());
      }
    }
    return *store_;
  }

  // The token's user, when the request bears a token; a token that is
  // malformed, unknown or revoked is refused whatever the endpoint.
  const std::optional<User>& Authenticate() {
    const std::string header = http_.Header("authorization");
    if (header.empty()) return user_;
    const auto space = header.find(' ');
    std::string scheme = header.substr(0, space);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "bearer" || space == std::string::npos) {
      throw Unauthorized("malformed Authorization header (expected Bearer TOKEN)", true);
    }
    std::string token = header.substr(space + 1);
    while (!token.empty() && token.front() == ' ') token.erase(0, 1);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    if (LooksLikeApiToken(token)) user_ = store().FindUserByApiToken(HashApiToken(token));
    if (!user_) throw Unauthorized("invalid API token", true);
    return user_;
  }

  // The caller, who must have authenticated.
  const User& RequireUser() {
    if (!user_) {
      throw Unauthorized(
          "this endpoint needs an API token: send Authorization: Bearer TOKEN (an admin makes one "
          "with `hephyd tokens create USER`)",
          false);
    }
    return *user_;
  }

  AppAccess AccessTo(const App& app) { return AccessOf(store(), app, RequireUser()); }

  // The build if the caller may read it. An unknown build and one of an app
  // the caller may not read get the same answer, so that existence does not leak.
  Build ReadableBuild(int64_t id) {
    const auto build = store().FindBuild(id);
    const auto app = build ? store().FindApp(build->app) : std::nullopt;
    if (!build || !app || AccessTo(*app) < AppAccess::kRead) {
      throw ApiError(404, "build " + std::to_string(id) + ": no such build");
    }
    return *build;
  }

  std::string who() const { return user_ ? user_->name : "-"; }

 private:
  const Config& config_;
  const HttpServerRequest& http_;
  std::optional<Store> store_;
  std::optional<User> user_;
};

json AppJson(const App& app, AppAccess access) {
  return {{"name", app.name},
          {"owner", app.owner ? json(*app.owner) : json(nullptr)},
          {"created_at", app.created_at},
          {"access", AccessName(access)}};
}

}  // namespace

ApiError::ApiError(int status, const std::string& message,
                   std::vector<std::pair<std::string, std::string>> headers)
    : Error(message), status_(status), headers_(std::move(headers)) {}

std::optional<ApiRoute> ParseRoute(std::string_view path) {
  using Kind = ApiRoute::Kind;
  if (path == "/healthz") return ApiRoute{Kind::kHealthz};
  if (path == "/metrics") return ApiRoute{Kind::kMetrics};
  if (path == "/api/v1/apps") return ApiRoute{Kind::kApps};
  if (path == "/api/v1/builds") return ApiRoute{Kind::kBuilds};
  constexpr std::string_view kContexts = "/api/v1/contexts/";
  if (path.starts_with(kContexts)) {
    const std::string_view job = path.substr(kContexts.size());
    if (job.empty() || job.size() > 128 ||
        job.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos) {
      return std::nullopt;
    }
    return ApiRoute{.kind = Kind::kBuildContext, .job = std::string(job)};
  }
  constexpr std::string_view kBuilds = "/api/v1/builds/";
  if (!path.starts_with(kBuilds)) return std::nullopt;
  std::string_view rest = path.substr(kBuilds.size());
  const auto slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  Kind kind = Kind::kBuild;
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) != "/logs") return std::nullopt;
    kind = Kind::kBuildLogs;
  }
  if (id.empty()) return std::nullopt;
  const bool digits = id.size() <= 18 && id.find_first_not_of("0123456789") == std::string::npos;
  const int64_t value = digits ? std::stoll(std::string(id)) : 0;
  if (value < 1) {
    throw ApiError(400, "build ID must be a positive number, got '" + std::string(id) + "'");
  }
  return ApiRoute{kind, value};
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto equals = part.find('=');
    const std::string name = PercentDecode(part.substr(0, equals));
    const std::string value =
        equals == std::string_view::npos ? "" : PercentDecode(part.substr(equals + 1));
    if (!params.emplace(name, value).second) {
      throw ApiError(400, "query parameter '" + name + "' is given twice");
    }
  }
  return params;
}

// The registry's health, by one client kept between checks (its connection
// and tokens are reused) and made anew after a failure, with fresh
// credentials. Checks take turns.
class HttpApi::RegistryHealth {
 public:
  explicit RegistryHealth(const RegistryConfig& config) : config_(config) {}

  // "" when the registry answers, else why it does not.
  std::string Check() {
    std::lock_guard lock(mutex_);
    try {
      if (!client_) {
        RegistryClientOptions options =
            ClientOptions(config_, ResolveRegistryAccess(config_, kCredentialHelperTimeout));
        options.timeout = kRegistryProbeTimeout;
        options.retry.attempts = 1;
        client_.emplace(std::move(options));
      }
      client_->Probe();
      return "";
    } catch (const std::exception& e) {
      client_.reset();
      return e.what();
    }
  }

 private:
  const RegistryConfig& config_;
  std::mutex mutex_;
  std::optional<RegistryClient> client_;
};

HttpApi::HttpApi(const Config& config, BuildContexts* contexts)
    : config_(config),
      contexts_(contexts),
      registry_(std::make_unique<RegistryHealth>(config.registry)) {}

void HttpApi::ServeContext(const HttpServerRequest& http, const std::string& job,
                           HttpExchange& exchange, int& status) {
  const std::string authorization = http.Header("authorization");
  if (!authorization.starts_with("Bearer ")) {
    throw ApiError(401, "a build context needs its job's token (Authorization: Bearer TOKEN)",
                   {{"WWW-Authenticate", kChallenge}});
  }
  // One answer for every refusal: the caller learns nothing about which jobs
  // exist.
  const auto dir =
      contexts_ == nullptr ? std::nullopt : contexts_->Redeem(job, authorization.substr(7));
  if (!dir) {
    throw ApiError(404, "no build context for job '" + job +
                            "' with this token (a token works once, for its own job, until it "
                            "expires)");
  }
  status = 200;
  if (!exchange.StartStream({200, "application/x-tar", {{"Cache-Control", "no-store"}}, ""})) {
    return;
  }
  if (StreamTar(*dir, [&](std::string_view bytes) { return exchange.Write(bytes); })) {
    exchange.Finish();
  }
  Log()->info("build context of job {} sent", job);
}

HttpApi::~HttpApi() = default;

void HttpApi::Handle(const HttpServerRequest& http, HttpExchange& exchange) {
  using Kind = ApiRoute::Kind;
  const auto start = std::chrono::steady_clock::now();
  Request request(config_, http);
  const auto question = http.target.find('?');
  const std::string path = http.target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : http.target.substr(question + 1);
  int status = 0;
  bool quiet = false;  // probes and scrapes come every few seconds: logged at debug
  const auto respond = [&](HttpServerResponse response) {
    status = response.status;
    exchange.Respond(std::move(response));
  };

  try {
    const auto route = ParseRoute(path);
    if (!route) throw ApiError(404, "no such endpoint: " + path);
    if (http.method != "GET") {
      throw ApiError(405, "method " + http.method + " is not allowed; use GET", {{"Allow", "GET"}});
    }
    const auto params = ParseQuery(query);
    // A build pod bears its job's token, not a user's.
    const bool context = route->kind == Kind::kBuildContext;
    if (!context) request.Authenticate();
    const bool open_endpoint = route->kind == Kind::kHealthz || route->kind == Kind::kMetrics;
    quiet = open_endpoint;
    const auto open = config_.http.open_endpoints;
    const bool open_to_caller =
        open_endpoint &&
        (open == OpenEndpoints::kAny || (open == OpenEndpoints::kLoopback && http.remote_loopback));
    if (!open_to_caller && !context) request.RequireUser();

    switch (route->kind) {
      case Kind::kHealthz: {
        ExpectOnly(params, {});
        std::string database;
        try {
          request.store().Ping();
        } catch (const std::exception& e) {
          database = e.what();
        }
        const std::string registry = registry_->Check();
        json body = {{"status", "ok"}, {"database", "ok"}, {"registry", "ok"}};
        if (database.empty() && registry.empty()) return respond(Json(200, body));
        std::string error;
        if (!database.empty()) {
          body["database"] = database;
          error = "database: " + database;
        }
        if (!registry.empty()) {
          body["registry"] = registry;
          error += (error.empty() ? "" : "; ") + std::string("registry: ") + registry;
        }
        body["status"] = "unavailable";
        body["error"] = error;
        Log()->warn("health check failed: {}", error);
        return respond(Json(503, body));
      }
      case Kind::kMetrics: {
        ExpectOnly(params, {});
        if (!open_to_caller && !request.RequireUser().admin) {
          throw ApiError(403, request.who() +
                                  " may not read the metrics: they cover every app, so they "
                                  "are for admins' tokens");
        }
        auto families = Metrics().Collect();
        MetricFamilySnapshot builds{
            "hephy_builds_total",
            "Builds that ended, by their final status (read from the database: survives "
            "restarts).",
            "counter",
            {}};
        for (const auto& [final_status, count] : request.store().CountFinishedBuilds()) {
          builds.samples.push_back({"", {{"status", final_status}}, static_cast<double>(count)});
        }
        families.push_back(std::move(builds));
        return respond({200, kMetricsContentType, {}, RenderMetrics(families)});
      }
      case Kind::kApps: {
        ExpectOnly(params, {});
        auto apps = json::array();
        for (const auto& app : request.store().ListApps()) {
          const AppAccess access = request.AccessTo(app);
          if (access >= AppAccess::kRead) apps.push_back(AppJson(app, access));
        }
        return respond(Json(200, apps));
      }
      case Kind::kBuilds: {
        ExpectOnly(params, {"app", "limit"});
        const int limit = ParseLimit(Param(params, "limit"));
        const auto app_name = Param(params, "app");
        const User& user = request.RequireUser();
        std::vector<Build> builds;
        if (app_name) {
          const auto app = request.store().FindApp(*app_name);
          if (!app || request.AccessTo(*app) < AppAccess::kRead) {
            throw ApiError(404, "no app '" + *app_name + "'");
          }
          builds = request.store().ListBuilds(*app_name, limit);
        } else if (user.admin) {
          builds = request.store().ListBuilds(std::nullopt, limit);
        } else {
          std::vector<std::string> readable;
          for (const auto& app : request.store().ListApps()) {
            if (request.AccessTo(app) >= AppAccess::kRead) readable.push_back(app.name);
          }
          builds = request.store().ListBuildsOfApps(readable, limit);
        }
        auto out = json::array();
        for (const auto& build : builds) out.push_back(BuildToJson(build));
        return respond(Json(200, out));
      }
      case Kind::kBuild:
        ExpectOnly(params, {});
        return respond(Json(200, BuildToJson(request.ReadableBuild(route->build_id))));
      case Kind::kBuildContext:
        ExpectOnly(params, {});
        ServeContext(http, route->job, exchange, status);
        break;
      case Kind::kBuildLogs: {
        ExpectOnly(params, {"platform", "follow"});
        const bool follow = ParseFollow(Param(params, "follow"));
        const Build build = request.ReadableBuild(route->build_id);
        std::optional<BuildLogReader> reader;
        try {
          reader.emplace(build, Param(params, "platform"));
        } catch (const Error& e) {
          throw ApiError(404, e.what());
        }
        status = 200;
        if (!exchange.StartStream(
                {200,
                 "text/plain; charset=utf-8",
                 {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}},
                 ""})) {
          break;
        }
        std::string chunk;
        bool reading = true;  // the client is still there
        const auto flush = [&] {
          if (reading && !chunk.empty()) reading = exchange.Write(chunk);
          chunk.clear();
          return reading;
        };
        const auto line = [&](std::string_view text) {
          chunk.append(text);
          chunk += '\n';
          if (chunk.size() >= kChunkBytes) flush();
        };
        bool complete = false;
        if (follow && !IsTerminalBuildStatus(build.status)) {
          complete = reader->Follow(request.store(), line, flush, exchange.stopping());
        } else {
          reader->ReadAll(line);
          complete = flush();
        }
        if (complete) exchange.Finish();
        break;
      }
    }
  } catch (const ApiError& e) {
    // A refusal before the response started; a stream that started is cut.
    if (status == 0) {
      HttpServerResponse response = JsonError(e.status(), e.what());
      response.headers.insert(response.headers.end(), e.headers().begin(), e.headers().end());
      respond(std::move(response));
    }
  } catch (const SQLite::Exception& e) {
    Log()->error("{} {}: database: {}", http.method, path, e.what());
    if (status == 0) respond(JsonError(503, std::string("database: ") + e.what()));
  } catch (const Error& e) {
    Log()->error("{} {}: {}", http.method, path, e.what());
    if (status == 0) respond(JsonError(500, e.what()));
  } catch (const std::exception& e) {
    Log()->error("{} {}: {}", http.method, path, e.what());
    if (status == 0) respond(JsonError(500, "internal error"));
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  Log()->log(quiet && status < 400 ? spdlog::level::debug : spdlog::level::info,
             "remote={} user={} {} {} -> {} ({} ms)", http.remote, request.who(), http.method, path,
             status == 0 ? 500 : status, ms);
}

}  // namespace hephy
