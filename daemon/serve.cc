#include "serve.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
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
#include "githttp/git_http.h"
#include "hephy/error.h"
#include "hephy/executor.h"
#include "hephy/store.h"
#include "net/http_connection.h"
#include "net/tls_server_context.h"
#include "push/push_ledger.h"
#include "push/push_receiver.h"
#include "registry/docker_config.h"
#include "registry/embedded_registry.h"
#include "registry/registry_token_authority.h"
#include "ssh/host_keys.h"
#include "ssh/ssh_server.h"
#include "store/data_dir.h"
#include "upstream/upstream_cache.h"
#include "util/drain_gate.h"
#include "util/duration.h"
#include "util/thread_group.h"
#include "web/web_ui.h"

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

const char* SignalName(int signal) { return signal == SIGINT ? "SIGINT" : "SIGTERM"; }

// Waits for SIGTERM or SIGINT, then drains: new pushes are refused while
// those in progress finish, for up to `timeout`; a second signal ends the
// wait at once. Returns when hephyd should stop.
// SIGHUP, meanwhile, calls `reread` (the TLS certificate) and changes
// nothing else.
void DrainOnSignal(const sigset_t& signals, DrainGate& drain, std::chrono::seconds timeout,
                   const std::function<void()>& reread) {
  const UniqueFd signal_fd(signalfd(-1, &signals, SFD_CLOEXEC));
  if (!signal_fd) throw Error(std::string("signalfd: ") + std::strerror(errno));
  const auto next_signal = [&] {
    signalfd_siginfo info{};
    return read(signal_fd.get(), &info, sizeof info) == sizeof info
               ? static_cast<int>(info.ssi_signo)
               : SIGTERM;
  };
  int first = 0;
  while (first == 0) {
    pollfd wait_for_signal{signal_fd.get(), POLLIN, 0};
    if (poll(&wait_for_signal, 1, -1) < 0) continue;  // EINTR
    first = next_signal();
    if (first == SIGHUP) {
      reread();
      first = 0;
    }
  }
  drain.Begin();
  const int active = drain.active();
  if (active == 0 || timeout.count() == 0) {
    spdlog::info("received {}, stopping", SignalName(first));
    return;
  }
  spdlog::info(
      "received {}, draining: {} push(es) or rebuild(s) in progress may finish for up to {} "
      "(serve.drain_timeout) while new ones are refused; a second SIGTERM or SIGINT stops at once",
      SignalName(first), active, FormatDuration(timeout));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {drain.idle_fd(), POLLIN, 0}};
  while (true) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const int ready = poll(fds, 2, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (fds[1].revents != 0) {
      spdlog::info("drained: every push and rebuild in progress finished; stopping");
    } else if (fds[0].revents != 0) {
      const int signal = next_signal();
      if (signal == SIGHUP) {
        reread();
        continue;
      }
      spdlog::info("received {} while draining; cancelling {} push(es) or rebuild(s) and stopping",
                   SignalName(signal), drain.active());
    } else if (ready == 0) {
      spdlog::warn(
          "serve.drain_timeout ({}) is over; cancelling {} push(es) or rebuild(s) still in "
          "progress and stopping",
          FormatDuration(timeout), drain.active());
    } else {
      continue;
    }
    return;
  }
}

void LogServedCertificate(const TlsServerContext& tls) {
  const ServedCertificate served = tls.Certificate();
  if (served.expired) {
    spdlog::warn("serving HTTPS with {} ({}, serial {}), which has EXPIRED: clients will refuse it",
                 tls.cert_file().string(), served.subject, served.serial);
  } else {
    spdlog::info("serving HTTPS with {} ({}, serial {})", tls.cert_file().string(), served.subject,
                 served.serial);
  }
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
  sigaddset(&stop_signals, SIGHUP);
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
  DrainGate drain;
  std::optional<Pruner> pruner;  // made once the embedded registry runs
  HookServer hooks([&](const PushRequest& request, const auto& say, std::stop_token hangup) {
    if (request.trigger == "prune") return pruner->Answer(request, say, hangup);
    if (request.trigger == "manual") {
      // A push's pass is its SSH session's; a rebuild takes its own.
      const DrainGate::Pass pass = drain.Admit();
      if (!pass) {
        say(DrainGate::kRefusal);
        return 1;
      }
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
  HttpApi api(config, &contexts, tokens, &drain);
  // HTTPS, when configured; SIGHUP rereads the files (a renewed certificate).
  std::optional<TlsServerContext> tls;
  if (!config.http.tls_cert.empty()) {
    tls.emplace(config.http.tls_cert, config.http.tls_key);
    LogServedCertificate(*tls);
  }
  const auto reread = [&] {
    if (!tls) return spdlog::info("received SIGHUP: nothing to reread (http.tls_cert is not set)");
    try {
      tls->Reload();
      spdlog::info("received SIGHUP: reread http.tls_cert and http.tls_key");
      LogServedCertificate(*tls);
    } catch (const Error& e) {
      spdlog::error("received SIGHUP: {}; still serving the certificate loaded before", e.what());
    }
  };
  // One budget of pushes per user and of failed logins per address, for SSH
  // and git over HTTP alike.
  SessionLimits limits(config.ssh);
  AuthThrottle throttle(config.ssh.auth_failures);
  const GitHttp git_http({config, repos, pushes, limits, throttle, drain});
  // Rebuilds asked for on the web page run on threads of their own, each
  // with a drain pass as a push has; they are stopped with serve.
  ThreadGroup web_rebuilds;
  std::stop_source stop_web_rebuilds;
  WebUi web(config,
            {.rebuild =
                 [&](const std::string& app, const std::string& unit, const std::string& user) {
                   DrainGate::Pass pass = drain.Admit();
                   if (!pass) return std::string(DrainGate::kRefusal);
                   web_rebuilds.Start([&, app, unit, user, pass = std::move(pass)] {
                     rebuilder.Rebuild(
                         {.app = app,
                          .select = PlanRequest::Select::kNamed,
                          .units = {unit},
                          .triggered_by = "manual",
                          .requested_by = user},
                         [](const std::string& line) { spdlog::debug("web rebuild: {}", line); },
                         stop_web_rebuilds.get_token());
                   });
                   return std::string();
                 },
             .cancel =
                 [&](int64_t build_id, const std::string& user) {
                   return runner.Cancel(build_id, "cancelled by " + user + " on the web page");
                 }},
            &throttle);
  HttpServer http(config.http.listen, {.max_connections = config.http.max_connections},
                  [&](const HttpServerRequest& request, HttpExchange& exchange) {
                    if (GitHttp::Serves(request)) return git_http.Handle(request, exchange);
                    if (WebUi::Serves(request)) return web.Handle(request, exchange);
                    api.Handle(request, exchange);
                  },
                  {.streamed_bodies = &GitHttp::StreamsBody,
                   .tls = tls ? std::function([&tls] { return tls->Current(); })
                              : std::function<std::shared_ptr<boost::asio::ssl::context>()>()});
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
  SshServer server(config, repos, pushes, drain, limits, throttle);
  pruner.emplace(config, scheduler, tokens, registry ? &*registry : nullptr);
  const DailyPrune daily_prune(config, *pruner);
  const ListenAddress bound = server.Listen();
  http.Start();
  spdlog::info("hephyd {} serving {} on {} (git, health, metrics, API)", HEPHY_VERSION,
               tls ? "HTTPS" : "HTTP", http_bound.ToString());
  spdlog::info("hephyd {} serving SSH on {} (data in {})", HEPHY_VERSION, bound.ToString(),
               config.data_dir.string());
  // A newcomer's first push would otherwise stop at OpenSSH's question
  // whether to trust a key it has never seen.
  for (const auto& fingerprint : HostKeyFingerprints(EnsureHostKeys(config.HostKeysDir()))) {
    spdlog::info("SSH host key {}", fingerprint);
  }
  spdlog::info("trust it before the first push (compare the fingerprints): {}",
               KeyscanLine(bound.host, bound.port));
  spdlog::info("push with: git push ssh://git@{}/APP.git {}", bound.ToString(),
               config.builder.branches.front());
  spdlog::info("or with a token: git push {}://USER@{}/APP.git {}",
               config.http.tls_cert.empty() ? "http" : "https", http_bound.ToString(),
               config.builder.branches.front());

  std::thread hook_thread([&] { hooks.Run(); });
  const ScheduledRebuilds schedule(config, rebuilder, drain);
  std::jthread schedule_thread([&](std::stop_token stop) { schedule.Run(stop); });
  std::thread signals([&] {
    DrainOnSignal(stop_signals, drain, config.serve.drain_timeout, reread);
    stop_web_rebuilds.request_stop();
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
    stop_web_rebuilds.request_stop();
    web_rebuilds.Wait();
    stop_hooks();
    throw;
  }
  // Run only returns after Stop, which only the signal thread calls.
  signals.join();
  web_rebuilds.Wait();
  stop_hooks();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hephy
