#include "api/http_api.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/api_caller.h"
#include "api/request_log.h"
#include "build/build_log_reader.h"
#include "executors/host_platforms.h"
#include "executors/job_cgroup.h"
#include "executors/tar_stream.h"
#include "hephy/registry_client.h"
#include "hephy/store.h"
#include "registry/registry_access.h"
#include "store/build_json.h"
#include "store/rights.h"
#include "util/disk_space.h"
#include "util/logging.h"
#include "util/metrics.h"

namespace hephy {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("http");
  return logger;
}

// A streamed log goes out in chunks of about this size, or smaller when the
// log has nothing more for now.
constexpr size_t kChunkBytes = 64 * 1024;
// Health checks must answer before a load balancer's probe gives up.
constexpr std::chrono::seconds kRegistryProbeTimeout{3};
constexpr std::chrono::seconds kCredentialHelperTimeout{5};

// Every answer of the API is private to its caller.
HttpServerResponse Json(int status, const json& body) {
  return {status, "application/json", {{"Cache-Control", "no-store"}}, body.dump() + "\n"};
}

json AppJson(const App& app, AppAccess access) {
  return {{"name", app.name},
          {"owner", app.owner ? json(*app.owner) : json(nullptr)},
          {"created_at", app.created_at},
          {"access", AccessName(access)}};
}

}  // namespace

// The registry's health, by one client kept between checks (its connection
// and tokens are reused) and made anew after a failure, with fresh
// credentials. Checks take turns.
class HttpApi::RegistryHealth {
 public:
  RegistryHealth(const RegistryConfig& config, const RegistryTokenAuthority* tokens)
      : config_(config), tokens_(tokens) {}

  // "" when the registry answers, else why it does not.
  std::string Check() {
    std::lock_guard lock(mutex_);
    try {
      if (!client_) {
        const RegistryAccess access =
            tokens_ != nullptr
                ? RegistryAccess{tokens_->service_credentials(), "hephyd's own credentials"}
                : ResolveRegistryAccess(config_, kCredentialHelperTimeout);
        RegistryClientOptions options = ClientOptions(config_, access);
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
  const RegistryTokenAuthority* tokens_;
  std::mutex mutex_;
  std::optional<RegistryClient> client_;
};

HttpApi::HttpApi(const Config& config, BuildContexts* contexts,
                 const RegistryTokenAuthority* registry_tokens, const DrainGate* drain)
    : config_(config),
      contexts_(contexts),
      drain_(drain),
      registry_(std::make_unique<RegistryHealth>(config.registry, registry_tokens)) {
  if (registry_tokens != nullptr) registry_tokens_.emplace(config, *registry_tokens);
}

void HttpApi::ServeContext(const HttpServerRequest& http, const std::string& job,
                           HttpExchange& exchange, int& status) {
  const std::string authorization = http.Header("authorization");
  if (!authorization.starts_with("Bearer ")) {
    throw ApiError(401, "a build context needs its job's token (Authorization: Bearer TOKEN)",
                   {{"WWW-Authenticate", kBearerChallenge}});
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
  ApiCaller caller(config_, http);
  const auto question = http.target.find('?');
  const std::string path = http.target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : http.target.substr(question + 1);
  std::string who;     // when the caller is not an API token's user
  bool quiet = false;  // probes and scrapes come every few seconds: logged at debug
  RequestLog log_line(
      *Log(), http, path, [&] { return who.empty() ? caller.who() : who; },
      [&](int status) {
        return quiet && status < 400 ? spdlog::level::debug : spdlog::level::info;
      });
  int& status = log_line.status;
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
    if (route->kind == Kind::kRegistryToken) {
      if (!registry_tokens_) {
        throw ApiError(404, "no such endpoint: " + path +
                                " (it issues the embedded registry's tokens, and "
                                "registry.embedded is false)");
      }
      auto answer = registry_tokens_->Answer(http, query, caller.store());
      who = std::move(answer.who);
      return respond(std::move(answer.response));
    }
    const auto params = ParseQuery(query);
    // A build pod bears its job's token, not a user's.
    const bool context = route->kind == Kind::kBuildContext;
    if (!context) caller.Authenticate();
    const bool open_endpoint = route->kind == Kind::kHealthz || route->kind == Kind::kMetrics;
    quiet = open_endpoint;
    const auto open = config_.http.open_endpoints;
    const bool open_to_caller =
        open_endpoint &&
        (open == OpenEndpoints::kAny || (open == OpenEndpoints::kLoopback && http.remote_loopback));
    if (!open_to_caller && !context) caller.RequireUser();

    switch (route->kind) {
      case Kind::kHealthz: {
        ExpectOnly(params, {});
        std::string database;
        try {
          caller.store().Ping();
        } catch (const std::exception& e) {
          database = e.what();
        }
        const std::string registry = registry_->Check();
        json body = {{"status", "ok"}, {"database", "ok"}, {"registry", "ok"}};
        // Informational: builds run without limits where cgroups are not
        // available, and hephyd is healthy all the same.
        if (config_.builder.executor == "buildah") {
          const std::string limits = BuildLimitsProblem(config_);
          body["build_limits"] = limits.empty() ? "ok" : limits;
        }
        // Informational too: a push that runs out of it fails, not hephyd.
        body["data_dir_free_bytes"] = DiskSpaceOf(config_.data_dir).available;
        if (RunsOnThisHost(config_)) {
          const HostPlatforms host = HostPlatforms::Detect();
          json platforms = json::object();
          for (const auto& platform : config_.builder.platforms) {
            platforms[platform] = PlatformRunName(host.RunOf(platform));
          }
          body["platforms"] = platforms;
        }
        if (drain_ != nullptr && drain_->draining()) {
          // A load balancer sends no more; the pushes in progress finish.
          body["status"] = "draining";
          body["in_progress"] = drain_->active();
          return respond(Json(503, body));
        }
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
        if (!open_to_caller && !caller.RequireUser().admin) {
          throw ApiError(403, caller.who() +
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
        for (const auto& [final_status, count] : caller.store().CountFinishedBuilds()) {
          builds.samples.push_back({"", {{"status", final_status}}, static_cast<double>(count)});
        }
        families.push_back(std::move(builds));
        families.push_back(
            {"hephy_data_dir_free_bytes",
             "Space left for hephyd's user on the filesystem holding data_dir, at the scrape.",
             "gauge",
             {{"", {}, static_cast<double>(DiskSpaceOf(config_.data_dir).available)}}});
        if (RunsOnThisHost(config_)) {
          MetricFamilySnapshot runs{
              "hephy_platform_run",
              "How this host runs RUN steps of each of builder.platforms: 1 for its mode "
              "(native, emulated through qemu, or unavailable).",
              "gauge",
              {}};
          const HostPlatforms host = HostPlatforms::Detect();
          for (const auto& platform : config_.builder.platforms) {
            runs.samples.push_back({"",
                                    {{"platform", platform},
                                     {"mode", std::string(PlatformRunName(host.RunOf(platform)))}},
                                    1});
          }
          families.push_back(std::move(runs));
        }
        return respond({200, kMetricsContentType, {}, RenderMetrics(families)});
      }
      case Kind::kApps: {
        ExpectOnly(params, {});
        auto apps = json::array();
        for (const auto& app : caller.store().ListApps()) {
          const AppAccess access = caller.AccessTo(app);
          if (access >= AppAccess::kRead) apps.push_back(AppJson(app, access));
        }
        return respond(Json(200, apps));
      }
      case Kind::kBuilds: {
        ExpectOnly(params, {"app", "limit"});
        const int limit = ParseLimit(Param(params, "limit"));
        const auto app_name = Param(params, "app");
        const User& user = caller.RequireUser();
        std::vector<Build> builds;
        if (app_name) {
          const auto app = caller.store().FindApp(*app_name);
          if (!app || caller.AccessTo(*app) < AppAccess::kRead) {
            throw ApiError(404, "no app '" + *app_name + "'");
          }
          builds = caller.store().ListBuilds(*app_name, limit);
        } else if (user.admin) {
          builds = caller.store().ListBuilds(std::nullopt, limit);
        } else {
          std::vector<std::string> readable;
          for (const auto& app : caller.store().ListApps()) {
            if (caller.AccessTo(app) >= AppAccess::kRead) readable.push_back(app.name);
          }
          builds = caller.store().ListBuildsOfApps(readable, limit);
        }
        auto out = json::array();
        for (const auto& build : builds) out.push_back(BuildToJson(build));
        return respond(Json(200, out));
      }
      case Kind::kBuild:
        ExpectOnly(params, {});
        return respond(Json(200, BuildToJson(caller.ReadableBuild(route->build_id))));
      case Kind::kBuildContext:
        ExpectOnly(params, {});
        ServeContext(http, route->job, exchange, status);
        break;
      case Kind::kRegistryToken:
        break;  // answered above: its caller is not an API token's
      case Kind::kBuildLogs: {
        ExpectOnly(params, {"platform", "follow"});
        const bool follow = ParseFollow(Param(params, "follow"));
        const Build build = caller.ReadableBuild(route->build_id);
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
          complete = reader->Follow(caller.store(), line, flush, exchange.stopping());
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
}

}  // namespace hephy
