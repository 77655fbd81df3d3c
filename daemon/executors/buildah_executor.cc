#include "executors/buildah_executor.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <variant>

#include "executors/build_network.h"
#include "executors/buildah_output.h"
#include "executors/host_platforms.h"
#include "executors/job_cgroup.h"
#include "executors/job_process.h"
#include "hephy/error.h"
#include "net/egress_proxy.h"
#include "registry/docker_config.h"
#include "util/logging.h"
#include "util/metrics.h"
#include "util/private_file.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("build");
  return logger;
}

// Global options first: every buildah invocation of a job sees only its
// storage, never the machine's (or another app's).
std::vector<std::string> BuildahArgv(const BuildahConfig& config, const BuildahStorage& storage) {
  return {"buildah",
          "--root",
          storage.root.string(),
          "--runroot",
          storage.runroot.string(),
          "--storage-driver",
          config.storage_driver};
}

std::filesystem::path CertDir(const PlatformJobSpec& spec) { return spec.work_dir / "certs"; }
std::filesystem::path AuthFile(const PlatformJobSpec& spec) { return spec.work_dir / "auth.json"; }
std::filesystem::path ImageIdFile(const PlatformJobSpec& spec) {
  return spec.work_dir / "image-id";
}

// The registry part of "host[:port]/repository:tag".
std::string RegistryOf(const std::string& destination) {
  return destination.substr(0, destination.find('/'));
}

// The credentials stay where only hephyd's user can read them.
void WriteAuthFile(const PlatformJobSpec& spec) {
  WritePrivateFile(AuthFile(spec),
                   AuthFileFor(RegistryOf(spec.destination), *spec.registry_credentials));
}

// buildah's --network: its own words for none and host; isolated is the
// CNI network of BuildNetwork.
std::string NetworkArgument(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::kNone:
      return "none";
    case NetworkMode::kIsolated:
      return BuildNetwork::kName;
    case NetworkMode::kHost:
      return "host";
  }
  return "none";
}

void Append(std::vector<std::string>& argv, std::initializer_list<std::string> args) {
  argv.insert(argv.end(), args.begin(), args.end());
}

// How buildah talks to the registry: plain HTTP, or TLS verified against the
// system's CAs and, with registry.ca_file, the job's copy of it in a
// directory of its own (containers/image reads every *.crt of --cert-dir).
// buildah's boolean flags take their value after "=" only.
// buildah reads the credentials from the job's auth file, so that they are
// never in its argv (/proc/PID/cmdline) as --creds would put them.
void AppendAuth(std::vector<std::string>& argv, const PlatformJobSpec& spec) {
  if (!spec.registry_credentials) return;
  argv.push_back("--authfile");
  argv.push_back(AuthFile(spec).string());
}

void AppendTls(std::vector<std::string>& argv, const PlatformJobSpec& spec) {
  if (spec.insecure_registry) {
    argv.push_back("--tls-verify=false");
    return;
  }
  argv.push_back("--tls-verify=true");
  if (!spec.registry_ca_file.empty()) {
    argv.push_back("--cert-dir");
    argv.push_back(CertDir(spec).string());
  }
}

// The IDs (hex, without "sha256:") of the images in a storage, each with
// whether it has a name (a base image pulled by name); nullopt when buildah
// cannot read the storage.
std::optional<std::map<std::string, bool>> ImagesIn(const BuildahConfig& config,
                                                    const BuildahStorage& storage) {
  auto argv = BuildahArgv(config, storage);
  Append(argv, {"images", "--all", "--noheading", "--no-trunc", "--format", "{{.ID}} {{.Name}}"});
  const RunResult listed = Run({.argv = std::move(argv)}, "", std::chrono::minutes(1));
  if (listed.exit_code != 0) return std::nullopt;
  std::map<std::string, bool> images;
  std::istringstream lines(listed.out);
  for (std::string id, name; lines >> id >> name;) {
    if (id.starts_with("sha256:")) id.erase(0, 7);
    images[id] = images[id] || name != "<none>";
  }
  return images;
}

// Removes from a cache entry the images that were there before the job
// (`before`) and that it neither reused nor pulled by name: steps of earlier
// builds that no longer match, base images whose tag moved on. What the job
// made stays, for the next one. Then lets the entry go.
void TidyAndRelease(const BuildahConfig& config, LayerCache& cache, LayerCache::Lease lease,
                    const std::map<std::string, bool>& before,
                    const std::set<std::string>& reused) {
  const BuildahStorage storage{.root = lease.root(), .runroot = lease.runroot()};
  const std::string name = lease.key().Name();
  size_t dropped = 0;
  // Only images that were there before can be stale: after a build that
  // stopped early (`before` empty) no buildah runs on the entry any more.
  if (const auto after = before.empty() ? std::nullopt : ImagesIn(config, storage)) {
    std::vector<std::string> stale;
    for (const auto& [id, named] : *after) {
      if (!named && before.contains(id) && !reused.contains(id)) stale.push_back(id);
    }
    if (!stale.empty()) {
      auto argv = BuildahArgv(config, storage);
      Append(argv, {"rmi", "--force"});
      argv.insert(argv.end(), stale.begin(), stale.end());
      const RunResult removed = Run({.argv = std::move(argv)}, "", std::chrono::minutes(5));
      if (removed.exit_code == 0) {
        dropped = stale.size();
      } else {
        Log()->warn("layer cache of {}: buildah rmi of {} stale images failed: {}", name,
                    stale.size(), removed.err);
      }
    }
  }
  try {
    const auto released = cache.Release(std::move(lease));
    for (const auto& evicted : released.evicted) {
      Log()->info("layer cache: removed {} ({} MiB, least recently used) to stay under {} MiB",
                  evicted.key.Name(), evicted.bytes >> 20, cache.max_bytes() >> 20);
    }
    const uint64_t total = released.total_bytes;
    Metrics().layer_cache_bytes.With({}).Set(static_cast<int64_t>(total));
    Log()->info("layer cache of {}: released, {} stale images dropped; the cache holds {} MiB",
                name, dropped, total >> 20);
  } catch (const std::exception& e) {
    Log()->warn("layer cache of {}: {}", name, e.what());
  }
}

// Counts a job's reused and built steps, for /metrics.
void CountCacheSteps(const BuildahOutput& output) {
  Metrics().layer_cache_steps.With({"hit"}).Increment(static_cast<uint64_t>(output.cached_steps()));
  Metrics().layer_cache_steps.With({"miss"}).Increment(
      static_cast<uint64_t>(std::max(0, output.steps() - output.cached_steps())));
}

class BuildahJob : public PlatformJob {
 public:
  BuildahJob(const BuildahConfig& config, PlatformJobSpec spec,
             std::filesystem::path containers_conf, const BuildLimits& limits,
             const BuildahEgress& egress, PushLocks& push_locks, LayerCache* cache,
             ThreadGroup& tidying)
      : config_(config),
        spec_(std::move(spec)),
        containers_conf_(std::move(containers_conf)),
        limits_(limits),
        egress_(egress),
        push_locks_(push_locks),
        cache_(spec_.cache ? cache : nullptr),
        tidying_(tidying) {}

  PlatformJobResult Run(const std::function<void(std::string_view)>& on_line) override {
    // The credentials stay on disk only while the job runs (a job that never
    // runs leaves them in its work dir, which the build removes).
    const struct RemoveAuthFile {
      const PlatformJobSpec& spec;
      ~RemoveAuthFile() {
        std::error_code ec;
        std::filesystem::remove(AuthFile(spec), ec);
      }
    } remove_auth_file{spec_};
    std::optional<EgressProxy> proxy;
    try {
      if (spec_.network != NetworkMode::kHost) proxy.emplace(egress_.policy);
    } catch (const Error& e) {
      return {.outcome = PlatformJobResult::Outcome::kFailed, .error = e.what()};
    }
    proxy_url_ = proxy ? proxy->url() : "";
    const auto deadline = std::chrono::steady_clock::now() + spec_.timeout;

    std::optional<LayerCache::Lease> lease;
    if (cache_ != nullptr) {
      if (auto gave_up = TakeCache(lease, deadline, on_line)) return *gave_up;
    }
    std::map<std::string, bool> before;
    std::set<std::string> reused;
    PlatformJobResult result =
        BuildAndPush(lease, deadline, proxy ? &*proxy : nullptr, before, reused, on_line);
    if (lease) {
      // A build that stopped early never reached the steps after, whose
      // layers may well serve the next one: only a build that went through
      // says which of the entry's images are stale.
      if (result.outcome != PlatformJobResult::Outcome::kSucceeded) before.clear();
      // After the job, not in its time: the next job of the entry waits for
      // it, the pusher does not.
      auto held = std::make_shared<LayerCache::Lease>(std::move(*lease));
      tidying_.Start([config = config_, cache = cache_, held, before = std::move(before),
                      reused = std::move(reused)] {
        TidyAndRelease(config, *cache, std::move(*held), before, reused);
      });
    }
    return result;
  }

  void Cancel() override { cancel_.Cancel(); }

 private:
  LayerCacheKey LeaseKey() const {
    return {.app = spec_.cache->app, .unit = spec_.cache->unit, .platform = spec_.platform};
  }

  // Holds the job's cache entry, or leaves `lease` empty (the job builds
  // without, said so) when there is no entry to be had. Returns why the job
  // gave up waiting for its turn, if it did.
  std::optional<PlatformJobResult> TakeCache(std::optional<LayerCache::Lease>& lease,
                                             std::chrono::steady_clock::time_point deadline,
                                             const std::function<void(std::string_view)>& on_line) {
    try {
      auto taken = cache_->Acquire(LeaseKey(), deadline, cancel_);
      if (auto* gave_up = std::get_if<PlatformJobResult>(&taken)) return *gave_up;
      lease.emplace(std::move(std::get<LayerCache::Lease>(taken)));
    } catch (const Error& e) {
      on_line(std::string("hephy: warning: this build runs without the layer cache: ") + e.what());
    }
    return std::nullopt;
  }

  BuildahStorage StorageOf(const std::optional<LayerCache::Lease>& lease) const {
    if (!lease) return ScratchStorage(spec_);
    return {.root = lease->root(),
            .runroot = lease->runroot(),
            .layers = true,
            .refresh = spec_.cache->refresh,
            .ttl = spec_.cache->ttl};
  }

  // Empties a cache entry buildah cannot use, so that the job goes on from
  // nothing; without the cache when even that fails.
  void ClearCache(std::optional<LayerCache::Lease>& lease, const std::string& why,
                  const std::function<void(std::string_view)>& on_line) {
    Log()->warn("layer cache of {}: {}; emptied", lease->key().Name(), why);
    try {
      lease->Clear();
      on_line("hephy: warning: the layer cache " + why + "; it was emptied and this build " +
              "starts from nothing");
    } catch (const Error& e) {
      on_line(std::string("hephy: warning: this build runs without the layer cache: ") + e.what());
      lease.reset();
    }
  }

  PlatformJobResult BuildAndPush(std::optional<LayerCache::Lease>& lease,
                                 std::chrono::steady_clock::time_point deadline,
                                 const EgressProxy* proxy, std::map<std::string, bool>& before,
                                 std::set<std::string>& reused,
                                 const std::function<void(std::string_view)>& on_line) {
    if (lease) {
      const auto images = ImagesIn(config_, StorageOf(lease));
      if (images) {
        before = *images;
      } else {
        ClearCache(lease, "cannot be read (`buildah images` failed)", on_line);
      }
    }
    BuildahOutput output(spec_.build_args);
    PlatformJobResult result = Build(StorageOf(lease), deadline, proxy, output, on_line);
    // A storage that lost what it lists fails the build before any step of
    // the Dockerfile's could: once more from nothing.
    if (result.outcome == PlatformJobResult::Outcome::kFailed && lease && !before.empty() &&
        output.storage_damaged()) {
      ClearCache(lease, "lost layers it lists", on_line);
      before.clear();
      output = BuildahOutput(spec_.build_args);
      result = Build(StorageOf(lease), deadline, proxy, output, on_line);
    }
    if (lease) {
      CountCacheSteps(output);
      if (output.steps() > 0 && result.outcome == PlatformJobResult::Outcome::kSucceeded) {
        on_line("hephy: " + std::to_string(output.cached_steps()) + " of " +
                std::to_string(output.steps()) + " steps from the layer cache");
      }
    }
    if (result.outcome == PlatformJobResult::Outcome::kSucceeded) {
      result = Push(StorageOf(lease), deadline, on_line);
    }
    reused = output.cached_images();
    return result;
  }

  // Runs `buildah build`; says why it failed when it did.
  PlatformJobResult Build(const BuildahStorage& storage,
                          std::chrono::steady_clock::time_point deadline, const EgressProxy* proxy,
                          BuildahOutput& output,
                          const std::function<void(std::string_view)>& on_line) {
    bool exec_format_error = false;
    bool access_denied = false;
    const auto watch = [&](std::string_view line) {
      if (line.find("exec format error") != std::string_view::npos) exec_format_error = true;
      if (line.find("requested access to the resource is denied") != std::string_view::npos) {
        access_denied = true;
      }
      if (const auto shown = output.Read(line)) on_line(*shown);
    };

    PlatformJobResult result;
    // chroot isolation runs RUN steps in no cgroup of their own.
    std::optional<JobCgroup> cgroup;
    try {
      if (config_.isolation == "oci") cgroup.emplace(limits_);
    } catch (const Error& e) {
      result.error = e.what();
      return result;
    }
    result =
        Step(BuildahBuildArgv(config_, spec_, storage, cgroup ? cgroup->RunParent() : std::nullopt),
             deadline, watch);
    if (result.outcome != PlatformJobResult::Outcome::kFailed) return result;
    result.error = "buildah build exited with status " + std::to_string(*result.exit_code);
    const std::string hit = cgroup ? cgroup->LimitHit() : "";
    if (!hit.empty()) result.error += ": " + hit;
    for (const auto& refusal : proxy ? proxy->Refusals() : std::vector<std::string>{}) {
      result.error += "; hephyd did not let the build fetch " + refusal;
    }
    const std::string arch = ArchitectureOf(spec_.platform);
    if (exec_format_error && arch != HostArchitecture()) {
      result.error += "; a RUN step runs " + arch + " programs, which this " + HostArchitecture() +
                      " host cannot: " + WaysToRun(spec_.platform);
    }
    if (access_denied) {
      result.error +=
          "; the registry denied this build an image: from hephyd's embedded registry, a "
          "build pulls only images of apps its pusher may read (the app's owner grants that: "
          "`hephyd apps grant APP USER read`)";
    }
    return result;
  }

  // Pushes the image the build made; its digest is the result's.
  PlatformJobResult Push(const BuildahStorage& storage,
                         std::chrono::steady_clock::time_point deadline,
                         const std::function<void(std::string_view)>& on_line) {
    std::string image_id;
    std::getline(std::ifstream(ImageIdFile(spec_)), image_id);
    if (image_id.starts_with("sha256:")) image_id.erase(0, 7);
    if (image_id.empty()) {
      return {.outcome = PlatformJobResult::Outcome::kFailed,
              .error = "buildah build did not report the image's ID"};
    }
    std::timed_mutex& push_lock =
        push_locks_.For(spec_.destination.substr(0, spec_.destination.rfind(':')));
    std::unique_lock lock(push_lock, std::defer_lock);
    if (auto gave_up = WaitForTurn(lock, deadline, cancel_)) return *gave_up;
    PlatformJobResult result =
        Step(BuildahPushArgv(config_, spec_, storage, image_id), deadline, on_line);
    lock.unlock();
    if (result.outcome == PlatformJobResult::Outcome::kFailed) {
      result.error = "buildah push to " + spec_.destination + " exited with status " +
                     std::to_string(*result.exit_code);
    }
    if (result.outcome != PlatformJobResult::Outcome::kSucceeded) return result;

    std::ifstream digest_file(spec_.work_dir / "digest");
    std::getline(digest_file, result.digest);
    if (!result.digest.starts_with("sha256:")) {
      result.outcome = PlatformJobResult::Outcome::kFailed;
      result.error = "buildah push did not report the image's digest";
    }
    return result;
  }

  // Runs one buildah command to its end.
  PlatformJobResult Step(std::vector<std::string> argv,
                         std::chrono::steady_clock::time_point deadline,
                         const std::function<void(std::string_view)>& on_line) {
    // buildah is a Go program: left alone, each job's runtime spins on
    // every core, and parallel jobs slow each other down (measured: 10% on
    // two cores, bench/build-overhead).
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::string> env = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TMPDIR=" + (spec_.work_dir / "tmp").string(),
        "HOME=" + spec_.work_dir.string(),
        "GOMAXPROCS=" + std::to_string(std::max(1, cores / std::max(1, spec_.concurrent_jobs))),
    };
    if (!containers_conf_.empty()) env.push_back("CONTAINERS_CONF=" + containers_conf_.string());
    if (!proxy_url_.empty()) {
      std::string direct;
      for (const auto& host : egress_.direct_hosts) direct += (direct.empty() ? "" : ",") + host;
      // Go programs read either spelling.
      for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) {
        env.push_back(std::string(name) + "=" + proxy_url_);
      }
      env.push_back("NO_PROXY=" + direct);
      env.push_back("no_proxy=" + direct);
    }
    return RunJobProcess({.argv = std::move(argv), .env = std::move(env), .cwd = spec_.work_dir},
                         deadline, cancel_, on_line,
                         geteuid() == 0 ? JobPidNamespace::kOwn : JobPidNamespace::kShared);
  }

  BuildahConfig config_;
  PlatformJobSpec spec_;
  std::filesystem::path containers_conf_;
  BuildLimits limits_;
  const BuildahEgress& egress_;
  std::string proxy_url_;  // the job's EgressProxy while it runs; empty: none
  PushLocks& push_locks_;
  LayerCache* cache_;  // null: the job builds in its own storage
  ThreadGroup& tidying_;
  JobCancel cancel_;
};

}  // namespace

BuildahStorage ScratchStorage(const PlatformJobSpec& spec) {
  return {.root = spec.work_dir / "storage", .runroot = spec.work_dir / "run"};
}

std::vector<std::string> BuildahBuildArgv(const BuildahConfig& config, const PlatformJobSpec& spec,
                                          const BuildahStorage& storage,
                                          const std::optional<std::string>& cgroup_parent) {
  auto argv = BuildahArgv(config, storage);
  Append(argv, {"build", "--isolation", config.isolation});
  // runc, not crun: crun refuses hosts with cgroups v1 and v2 mounted side by
  // side ("cgroups in hybrid mode not supported").
  if (config.isolation != "chroot") Append(argv, {"--runtime", "runc"});
  // --http-proxy=false: the job's egress proxy is buildah's, not its RUN
  // steps' (on a network of their own, where it is not even reachable).
  Append(argv, {"--network", NetworkArgument(spec.network), "--platform", spec.platform});
  if (!storage.layers) {
    argv.push_back("--layers=false");
  } else {
    argv.push_back("--layers=true");
    if (storage.refresh) argv.push_back("--no-cache");
    if (storage.ttl.count() > 0) {
      Append(argv, {"--cache-ttl", std::to_string(storage.ttl.count()) + "s"});
    }
  }
  // Every base image is looked up in the registry, even one the storage
  // has: a moved tag is pulled again, and a pull the registry refuses (the
  // pusher may not read that app) fails rather than falling back to a copy
  // an earlier pusher's build left in the cache.
  Append(argv, {"--pull=always", "--http-proxy=false"});
  if (cgroup_parent) Append(argv, {"--cgroup-parent", *cgroup_parent});
  AppendTls(argv, spec);
  AppendAuth(argv, spec);
  Append(argv, {"--file", (spec.context_dir / spec.dockerfile).string(), "--iidfile",
                ImageIdFile(spec).string()});
  if (!spec.target.empty()) {
    argv.push_back("--target");
    argv.push_back(spec.target);
  }
  for (const auto& build_arg : spec.build_args) {
    argv.push_back("--build-arg");
    argv.push_back(build_arg);
  }
  argv.push_back(spec.context_dir.string());
  return argv;
}

std::vector<std::string> BuildahPushArgv(const BuildahConfig& config, const PlatformJobSpec& spec,
                                         const BuildahStorage& storage,
                                         const std::string& image_id) {
  auto argv = BuildahArgv(config, storage);
  // --quiet: no progress lines; errors are still printed.
  Append(argv, {"push", "--quiet"});
  AppendTls(argv, spec);
  AppendAuth(argv, spec);
  Append(argv, {"--digestfile", (spec.work_dir / "digest").string(), image_id,
                "docker://" + spec.destination});
  return argv;
}

BuildahExecutor::BuildahExecutor(const BuildahConfig& config, std::filesystem::path builds_dir,
                                 std::filesystem::path containers_conf, const BuildLimits& limits,
                                 BuildahEgress egress, const BuildahCacheOptions& cache)
    : config_(config),
      builds_dir_(std::move(builds_dir)),
      containers_conf_(std::move(containers_conf)),
      limits_(limits),
      egress_(std::move(egress)) {
  if (cache.dir.empty()) return;
  cache_ = std::make_unique<LayerCache>(cache.dir, cache.max_bytes);
  Metrics().layer_cache_bytes.With({}).Set(static_cast<int64_t>(cache_->TotalBytes()));
}

BuildahExecutor::~BuildahExecutor() { tidying_.Wait(); }

int BuildahExecutor::StopOrphans() {
  int stopped = KillGroupsWithArgumentUnder(builds_dir_);
  if (cache_) stopped += KillGroupsWithArgumentUnder(cache_->dir());
  return stopped;
}

std::unique_ptr<PlatformJob> BuildahExecutor::Prepare(const PlatformJobSpec& spec) {
  std::filesystem::create_directories(spec.work_dir / "tmp");
  if (!spec.insecure_registry && !spec.registry_ca_file.empty()) {
    std::filesystem::create_directories(CertDir(spec));
    std::error_code ec;
    std::filesystem::copy_file(spec.registry_ca_file, CertDir(spec) / "ca.crt",
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      throw Error("registry.ca_file " + spec.registry_ca_file.string() +
                  ": cannot copy it for buildah: " + ec.message());
    }
  }
  if (spec.network == NetworkMode::kIsolated && containers_conf_.empty()) {
    throw Error(
        "network isolated: hephyd's build network is set up only with builder.network isolated");
  }
  if (spec.registry_credentials) WriteAuthFile(spec);
  return std::make_unique<BuildahJob>(config_, spec, containers_conf_, limits_, egress_,
                                      push_locks_, cache_.get(), tidying_);
}

std::timed_mutex& PushLocks::For(const std::string& repository) {
  const std::lock_guard lock(mutex_);
  return locks_[repository];
}

}  // namespace hephy
