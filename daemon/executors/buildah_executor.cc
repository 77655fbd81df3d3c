#include "executors/buildah_executor.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include "executors/build_network.h"
#include "executors/host_platforms.h"
#include "executors/job_cgroup.h"
#include "executors/job_process.h"
#include "hephy/error.h"
#include "net/egress_proxy.h"
#include "registry/docker_config.h"
#include "util/private_file.h"

namespace hephy {
namespace {

// Global options first: every buildah invocation of a job sees only its own
// storage, never the machine's (or another job's).
std::vector<std::string> BuildahArgv(const BuildahConfig& config, const PlatformJobSpec& spec) {
  return {"buildah",
          "--root",
          (spec.work_dir / "storage").string(),
          "--runroot",
          (spec.work_dir / "run").string(),
          "--storage-driver",
          config.storage_driver};
}

std::filesystem::path CertDir(const PlatformJobSpec& spec) { return spec.work_dir / "certs"; }
std::filesystem::path AuthFile(const PlatformJobSpec& spec) { return spec.work_dir / "auth.json"; }

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

class BuildahJob : public PlatformJob {
 public:
  BuildahJob(const BuildahConfig& config, PlatformJobSpec spec,
             std::filesystem::path containers_conf, const BuildLimits& limits,
             const BuildahEgress& egress, PushLocks& push_locks)
      : config_(config),
        spec_(std::move(spec)),
        containers_conf_(std::move(containers_conf)),
        limits_(limits),
        egress_(egress),
        push_locks_(push_locks) {}

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
    bool exec_format_error = false;
    bool access_denied = false;
    const auto watch = [&](std::string_view line) {
      if (line.find("exec format error") != std::string_view::npos) exec_format_error = true;
      if (line.find("requested access to the resource is denied") != std::string_view::npos) {
        access_denied = true;
      }
      on_line(line);
    };

    PlatformJobResult result;
    {
      // chroot isolation runs RUN steps in no cgroup of their own.
      std::optional<JobCgroup> cgroup;
      try {
        if (config_.isolation == "oci") cgroup.emplace(limits_);
      } catch (const Error& e) {
        result.error = e.what();
        return result;
      }
      result = Step(BuildahBuildArgv(config_, spec_, cgroup ? cgroup->RunParent() : std::nullopt),
                    deadline, watch);
      if (result.outcome == PlatformJobResult::Outcome::kFailed) {
        result.error = "buildah build exited with status " + std::to_string(*result.exit_code);
        const std::string hit = cgroup ? cgroup->LimitHit() : "";
        if (!hit.empty()) result.error += ": " + hit;
        for (const auto& refusal : proxy ? proxy->Refusals() : std::vector<std::string>{}) {
          result.error += "; hephyd did not let the build fetch " + refusal;
        }
      }
    }
    if (result.outcome == PlatformJobResult::Outcome::kFailed) {
      const std::string arch = ArchitectureOf(spec_.platform);
      if (exec_format_error && arch != HostArchitecture()) {
        result.error += "; a RUN step runs " + arch + " programs, which this " +
                        HostArchitecture() + " host cannot: " + WaysToRun(spec_.platform);
      }
      if (access_denied) {
        result.error +=
            "; the registry denied this build an image: from hephyd's embedded registry, a "
            "build pulls only images of apps its pusher may read (the app's owner grants that: "
            "`hephyd apps grant APP USER read`)";
      }
    }
    if (result.outcome != PlatformJobResult::Outcome::kSucceeded) return result;

    std::timed_mutex& push_lock =
        push_locks_.For(spec_.destination.substr(0, spec_.destination.rfind(':')));
    std::unique_lock lock(push_lock, std::defer_lock);
    if (auto gave_up = WaitForTurn(lock, deadline, cancel_)) return *gave_up;
    result = Step(BuildahPushArgv(config_, spec_), deadline, on_line);
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

  void Cancel() override { cancel_.Cancel(); }

 private:
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
                         deadline, cancel_, on_line);
  }

  BuildahConfig config_;
  PlatformJobSpec spec_;
  std::filesystem::path containers_conf_;
  BuildLimits limits_;
  const BuildahEgress& egress_;
  std::string proxy_url_;  // the job's EgressProxy while it runs; empty: none
  PushLocks& push_locks_;
  JobCancel cancel_;
};

}  // namespace

std::vector<std::string> BuildahBuildArgv(const BuildahConfig& config, const PlatformJobSpec& spec,
                                          const std::optional<std::string>& cgroup_parent) {
  auto argv = BuildahArgv(config, spec);
  // No layer cache: every job starts from empty storage anyway. Pulls (FROM
  // an image in the registry) honour the registry's plain-HTTP setting.
  Append(argv, {"build", "--isolation", config.isolation});
  // runc, not crun: crun refuses hosts with cgroups v1 and v2 mounted side by
  // side ("cgroups in hybrid mode not supported").
  if (config.isolation != "chroot") Append(argv, {"--runtime", "runc"});
  // --http-proxy=false: the job's egress proxy is buildah's, not its RUN
  // steps' (on a network of their own, where it is not even reachable).
  Append(argv, {"--network", NetworkArgument(spec.network), "--platform", spec.platform,
                "--layers=false", "--http-proxy=false"});
  if (cgroup_parent) Append(argv, {"--cgroup-parent", *cgroup_parent});
  AppendTls(argv, spec);
  AppendAuth(argv, spec);
  Append(argv,
         {"--file", (spec.context_dir / spec.dockerfile).string(), "--tag", spec.destination});
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

std::vector<std::string> BuildahPushArgv(const BuildahConfig& config, const PlatformJobSpec& spec) {
  auto argv = BuildahArgv(config, spec);
  // --quiet: no progress lines; errors are still printed.
  Append(argv, {"push", "--quiet"});
  AppendTls(argv, spec);
  AppendAuth(argv, spec);
  Append(argv, {"--digestfile", (spec.work_dir / "digest").string(), spec.destination,
                "docker://" + spec.destination});
  return argv;
}

int BuildahExecutor::StopOrphans() { return KillGroupsWithArgumentUnder(builds_dir_); }

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
                                      push_locks_);
}

std::timed_mutex& PushLocks::For(const std::string& repository) {
  const std::lock_guard lock(mutex_);
  return locks_[repository];
}

}  // namespace hephy
