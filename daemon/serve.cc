#include "serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "api/http_api.h"
#include "api/http_server.h"
#include "build/build_planner.h"
#include "build/build_runner.h"
#include "build/build_scheduler.h"
#include "build/daily_prune.h"
#include "build/pruner.h"
#include "build/rebuilder.h"
#include "build/scheduled_rebuilds.h"
#include "executors/build_contexts.h"
#include "git/hook_server.h"
#include "git/repo_store.h"
#include "hephy/error.h"
#include "hephy/executor.h"
#include "hephy/store.h"
#include "net/http_connection.h"
#include "push/push_ledger.h"
#include "push/push_receiver.h"
#include "registry/docker_config.h"
#include "registry/embedded_registry.h"
#include "registry/registry_token_authority.h"
#include "ssh/ssh_server.h"
#include "store/data_dir.h"
#include "upstream/upstream_cache.h"

namespace hephy {
namespace {

// Where the embedded registry sends clients for tokens: hephyd's HTTP
// listener, named as the registry is when it listens on every address.
std::string TokenRealm(ListenAddress http, const std::string& registry_url) {
  if (http.host.empty() || http.host == "0.0.0.0" || http.host == "::") {
    http.host = ParseHostPort(registry_url, 80).host;
  }
  return "http://" + http.ToString() + "/v2/token";
}

}  // namespace

int Serve(const Config& config) {
  // Signals are taken by one thread with sigwait; every other thread
  // (created after this, the embedded registry's supervisor included)
  // inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Everything that can be checked is, before anything is written.
  const auto hook_program = HookProgramBesideExecutable();
  if (config.registry.insecure && !IsLoopbackHost(ParseHostPort(config.registry.url, 80).host)) {
    spdlog::warn(
        "registry.insecure is true for {}, which is not a loopback address: images and registry "
        "credentials travel over plain HTTP that anyone on the network can read and alter; "
        "serve the registry over TLS and set registry.insecure: false",
        config.registry.url);
  }
  // A broken credentials file is an error now rather than at the first
  // push; helpers are asked only when a build needs them.
  DockerConfig::Load(config.registry.docker_config);
  MakePrivateDirectory(config.data_dir);
  MakePrivateDirectory(config.ReposDir());
  MakePrivateDirectory(config.LogsDir());
  {
    Store store(config.DatabasePath());
    if (const int applied = store.Migrate()) {
      spdlog::info("applied {} schema migration(s) to {}", applied, config.DatabasePath().string());
    }
    // Builds the last hephyd left queued or running will never finish; saying
    // so ends their `logs --follow` and keeps `builds list` true.
    if (const auto ids = store.MarkInterruptedBuilds(); !ids.empty()) {
      std::string list;
      for (const int64_t id : ids) list += (list.empty() ? "" : ", ") + std::to_string(id);
      spdlog::warn("marked {} build(s) left unfinished by the last hephyd as interrupted: {}",
                   ids.size(), list);
    }
    if (store.ListKeys(std::nullopt).empty()) {
      spdlog::warn(
          "no SSH keys yet, so nobody can push: add a user with `hephyd users add NAME` "
          "and a key with `hephyd keys add NAME ~/.ssh/id_ed25519.pub`");
    }
  }
  const RepoStore repos(config.ReposDir(), hook_program, config.builder.branches.front());
  // Jobs and scratch space of builds a crashed hephyd left behind.
  BuildContexts contexts;  // served by the HTTP API to kaniko-kubernetes' pods
  const auto executor = MakeExecutor(config, &contexts);
  if (const int stopped = executor->StopOrphans()) {
    spdlog::warn("stopped {} build job(s) left running by a hephyd that crashed", stopped);
  }
  std::filesystem::remove_all(config.BuildsDir());
  MakePrivateDirectory(config.BuildsDir());
  // The embedded registry takes tokens hephyd issues: pushing is hephyd's
  // alone, pulling an app's images needs read access to it.
  std::optional<RegistryTokenAuthority> registry_tokens;
  if (config.registry.embedded) registry_tokens.emplace(config.data_dir);
  RegistryTokenAuthority* const tokens = registry_tokens ? &*registry_tokens : nullptr;

  BuildScheduler scheduler(config.builder.max_jobs);
  BuildRunner runner(config, *executor, scheduler, tokens);
  UpstreamCache upstreams(config.UpstreamsDir(), config.upstreams);
  const BuildPlanner planner(config, upstreams);
  const PushReceiver receiver(config, planner, runner);
  const Rebuilder rebuilder(config, planner, runner);
  PushLedger pushes;
  std::optional<Pruner> pruner;  // made once the embedded registry runs
  HookServer hooks([&](const PushRequest& request, const auto& say, std::stop_token hangup) {
    if (request.trigger == "prune") return pruner->Answer(request, say, hangup);
    if (request.trigger == "manual") {
      return rebuilder.Rebuild(
          {.app = request.app,
           .select =
               request.units.empty() ? PlanRequest::Select::kAll : PlanRequest::Select::kNamed,
           .units = request.units,
           .triggered_by = "manual",
           .requested_by = request.user,
           .no_cache = std::find(request.options.begin(), request.options.end(), "no-cache") !=
                       request.options.end()},
          say, hangup);
    }
    const PushVerdict verdict = receiver.Receive(request, say, hangup);
    pushes.Decide(request.push_id, verdict);  // for the session's audit record
    return verdict.accepted ? 0 : 1;
  });
  hooks.Listen(config.HookSocketPath());
  HttpApi api(config, &contexts, tokens);
  HttpServer http(config.http.listen, {.max_connections = config.http.max_connections},
                  [&api](const HttpServerRequest& request, HttpExchange& exchange) {
                    api.Handle(request, exchange);
                  });
  const ListenAddress http_bound = http.Listen();
  std::optional<EmbeddedRegistry> registry;
  if (tokens != nullptr) {
    registry.emplace(
        config.registry.url, config.RegistryDir(), std::nullopt,
        EmbeddedRegistry::TokenAuth{.realm = TokenRealm(http_bound, config.registry.url),
                                    .service = RegistryTokenAuthority::kService,
                                    .issuer = RegistryTokenAuthority::kIssuer,
                                    .root_cert_bundle = tokens->signer().certificate_path()});
  }
  pruner.emplace(config, scheduler, tokens, registry ? &*registry : nullptr);
  const DailyPrune daily_prune(config, *pruner);
  SshServer server(config, repos, pushes);
  const ListenAddress bound = server.Listen();
  http.Start();
  spdlog::info("hephyd {} serving HTTP on {} (health, metrics, API)", HEPHY_VERSION,
               http_bound.ToString());
  spdlog::info("hephyd {} serving SSH on {} (data in {})", HEPHY_VERSION, bound.ToString(),
               config.data_dir.string());
  spdlog::info("push with: git push ssh://git@{}/APP.git {}", bound.ToString(),
               config.builder.branches.front());

  std::thread hook_thread([&] { hooks.Run(); });
  const ScheduledRebuilds schedule(config, rebuilder);
  std::jthread schedule_thread([&](std::stop_token stop) { schedule.Run(stop); });
  std::thread signals([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    spdlog::info("received {}, stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
    server.Stop();
    http.Stop();
  });
  // The hook service outlives the SSH sessions: a push being stopped may
  // still be talking to it.
  const auto stop_hooks = [&] {
    schedule_thread.request_stop();
    schedule_thread.join();
    hooks.Stop();
    hook_thread.join();
  };
  try {
    server.Run();
  } catch (...) {
    pthread_kill(signals.native_handle(), SIGTERM);  // ends its sigwait
    signals.join();
    stop_hooks();
    throw;
  }
  // Run only returns after Stop, which only the signal thread calls.
  signals.join();
  stop_hooks();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hephy
