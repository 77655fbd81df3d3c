// What the HTTP API answers (docs/hephyd.md, HTTP API):
//
//   GET /healthz                     the database and the registry answer,
//                                    and hephyd is not draining
//   GET /metrics                     Prometheus text format 0.0.4
//   GET /api/v1/apps                 apps the caller may read
//   GET /api/v1/builds?app=&limit=   their builds, newest first
//   GET /api/v1/builds/ID            one build with its jobs
//   GET /api/v1/builds/ID/logs?platform=&follow=1
//                                    its logs; followed while it runs
//   GET /api/v1/contexts/JOB         a build pod's context, as a tar
//   GET /v2/token?service=&scope=    a token for the embedded registry
//
// A request's rights are those of the user whose API token it bears
// (Authorization: Bearer TOKEN; daemon/store/rights.h), admins all. /healthz and
// /metrics need no token from the clients http.open_endpoints names. What
// the caller may not read answers 404, as if it did not exist. A build
// context takes no API token but the job's one-time token (build_contexts.h);
// a registry token, HTTP Basic credentials (registry_token_endpoint.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_request.h"
#include "api/http_server.h"
#include "api/registry_token_endpoint.h"
#include "executors/build_contexts.h"
#include "hephy/config.h"
#include "registry/registry_token_authority.h"
#include "util/drain_gate.h"

namespace hephy {

class HttpApi {
 public:
  // Build contexts are served from `contexts` when given (kaniko-kubernetes);
  // registry tokens are issued by `registry_tokens` when given (the embedded
  // registry), which hephyd's own health checks use too. /healthz answers
  // 503 while `drain` (when given) drains.
  explicit HttpApi(const Config& config, BuildContexts* contexts = nullptr,
                   const RegistryTokenAuthority* registry_tokens = nullptr,
                   const DrainGate* drain = nullptr);
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
  const DrainGate* drain_;
  std::optional<RegistryTokenEndpoint> registry_tokens_;
  std::unique_ptr<RegistryHealth> registry_;
};

}  // namespace hephy
