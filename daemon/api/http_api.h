// What the HTTP API answers (docs/hephyd.md, HTTP API):
//
//   GET /healthz                     the database and the registry answer
//   GET /metrics                     Prometheus text format 0.0.4
//   GET /api/v1/apps                 apps the caller may read
//   GET /api/v1/builds?app=&limit=   their builds, newest first
//   GET /api/v1/builds/ID            one build with its jobs
//   GET /api/v1/builds/ID/logs?platform=&follow=1
//                                    its logs; followed while it runs
//   GET /api/v1/contexts/JOB         a build pod's context, as a tar
//
// A request's rights are those of the user whose API token it bears
// (Authorization: Bearer TOKEN; daemon/store/rights.h), admins all. /healthz and
// /metrics need no token from the clients http.open_endpoints names. What
// the caller may not read answers 404, as if it did not exist. A build
// context takes no API token but the job's one-time token (build_contexts.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_server.h"
#include "executors/build_contexts.h"
#include "hephy/config.h"
#include "hephy/error.h"

namespace hephy {

// A refusal with its HTTP status (400 for a bad parameter, 404, ...) and
// the headers that go with it (WWW-Authenticate with a 401, Allow with 405).
class ApiError : public Error {
 public:
  ApiError(int status, const std::string& message,
           std::vector<std::pair<std::string, std::string>> headers = {});
  int status() const { return status_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

 private:
  int status_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

struct ApiRoute {
  enum class Kind { kHealthz, kMetrics, kApps, kBuilds, kBuild, kBuildLogs, kBuildContext };
  Kind kind;
  int64_t build_id = 0;  // kBuild, kBuildLogs
  std::string job;       // kBuildContext
};

// The route a request path (without its query) names; nullopt for none.
// Throws ApiError 400 for a build ID that is not a positive number.
std::optional<ApiRoute> ParseRoute(std::string_view path);

// A query string's parameters ("a=1&b=x%20y"), percent-decoded, '+' as a
// space. Throws ApiError 400 for a bad escape or a parameter given twice.
std::map<std::string, std::string> ParseQuery(std::string_view query);

class HttpApi {
 public:
  // Build contexts are served from `contexts` when given (kaniko-kubernetes).
  explicit HttpApi(const Config& config, BuildContexts* contexts = nullptr);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Answers one request; an HttpHandler. Thread-safe: each call opens its
  // own connection to the database.
  void Handle(const HttpServerRequest& request, HttpExchange& exchange);

 private:
  class RegistryHealth;
  // Answers GET /api/v1/contexts/JOB.
  void ServeContext(const HttpServerRequest& request, const std::string& job,
                    HttpExchange& exchange, int& status);
  const Config& config_;
  BuildContexts* contexts_;
  std::unique_ptr<RegistryHealth> registry_;
};

}  // namespace hephy
