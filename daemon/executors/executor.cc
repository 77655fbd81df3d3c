#include "hephy/executor.h"

#include <spdlog/spdlog.h>

#include "executors/build_contexts.h"
#include "executors/build_network.h"
#include "executors/buildah_executor.h"
#include "executors/host_platforms.h"
#include "executors/job_cgroup.h"
#include "executors/kaniko_kubernetes_executor.h"
#include "executors/kaniko_local_executor.h"
#include "hephy/error.h"
#include "net/http_connection.h"

namespace hephy {
namespace {

// The rule for buildah's fetches is the upstreams' (upstreams.allow_hosts).
// The registry and hephyd's token service (the HTTP listener) are the
// admin's and reached directly.
BuildahEgress BuildahEgressOf(const Config& config) {
  BuildahEgress egress{.policy = EgressPolicy(config.upstreams.allow_hosts)};
  egress.direct_hosts.push_back(ParseHostPort(config.registry.url, 80).host);
  const std::string& http = config.http.listen.host;
  if (!http.empty() && http != "0.0.0.0" && http != "::") egress.direct_hosts.push_back(http);
  return egress;
}

// What RUN steps of each platform run with here, said once at start: a
// platform that cannot run is the reason of every refusal to come.
void LogPlatforms(const Config& config) {
  const HostPlatforms host = HostPlatforms::Detect();
  std::string runs;
  for (const auto& platform : config.builder.platforms) {
    const PlatformRun run = host.RunOf(platform);
    if (run == PlatformRun::kUnavailable) {
      spdlog::warn(
          "RUN steps for {} cannot run on this {} host ({}): Dockerfiles with RUN steps "
          "for it are refused; {}",
          platform, host.native_arch, host.WhyNot(platform), WaysToRun(platform));
      continue;
    }
    runs += (runs.empty() ? "" : ", ") + platform + " " + std::string(PlatformRunName(run));
  }
  if (!runs.empty()) spdlog::info("RUN steps run here for {}", runs);
}

}  // namespace

std::unique_ptr<Executor> MakeExecutor(const Config& config, BuildContexts* contexts) {
  const std::string& name = config.builder.executor;
  if (RunsOnThisHost(config)) LogPlatforms(config);
  if (name == "buildah") {
    std::filesystem::path containers_conf;
    if (config.builder.network == NetworkMode::kIsolated) {
      containers_conf = BuildNetwork::Install(config.data_dir / "network").containers_conf();
    }
    if (const std::string problem = BuildLimitsProblem(config); !problem.empty()) {
      spdlog::warn("builder.limits: {}; builds run without memory, process and CPU limits",
                   problem);
    }
    BuildahCacheOptions cache;
    if (config.builder.cache.enabled) {
      cache = {.dir = config.LayerCacheDir(),
               .max_bytes = LayerCacheMaxBytes(config.builder.cache, config.data_dir)};
    }
    return std::make_unique<BuildahExecutor>(config.builder.buildah, config.BuildsDir(),
                                             containers_conf, config.builder.limits,
                                             BuildahEgressOf(config), cache);
  }
  if (name == "kaniko-kubernetes") {
    if (contexts == nullptr) {
      throw Error(
          "builder.executor: kaniko-kubernetes needs hephyd's HTTP server to hand build "
          "contexts to its pods, which only `hephyd serve` runs");
    }
    return std::make_unique<KanikoKubernetesExecutor>(config, *contexts);
  }
  if (name == "kaniko-local") {
    return std::make_unique<KanikoLocalExecutor>(config.builder.kaniko, config.BuildsDir());
  }
  throw Error("builder.executor: unknown executor '" + name +
              "' (expected buildah, kaniko-kubernetes or kaniko-local)");
}

}  // namespace hephy
