// Executors build one image for one platform and push it to the registry: a
// platform job. buildah runs on this machine; Kaniko executors (on
// Kubernetes, or inside a Kaniko image) sit behind the same interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hephy/config.h"
#include "hephy/registry_credentials.h"

namespace hephy {

// Which earlier builds' layers a job may reuse: only those of the same app
// and unit (never another app's: no cache poisoning across tenants), on
// the job's platform.
struct LayerCacheUse {
  std::string app;
  std::string unit;
  // "host[:port]/repository" where executors that keep layers in the
  // registry (Kaniko) push and pull them: the app's own.
  std::string repository;
  // Reuse no step and pull every base image again (-o no-cache, scheduled
  // rebuilds); what is built still goes into the cache for later builds.
  bool refresh = false;
  std::chrono::seconds ttl{0};  // layers older than this are built again; 0: any age
};

struct PlatformJobSpec {
  int64_t build_id = 0;                   // the build's record; names the job's pods
  std::string platform;                   // "linux/arm64"
  std::filesystem::path context_dir;      // the build context; jobs only read it
  std::string dockerfile = "Dockerfile";  // relative to context_dir
  std::string target;                     // multi-stage target; empty: the last stage
  std::vector<std::string> build_args;    // "KEY=value"
  std::string destination;                // "host[:port]/repository:tag"
  bool insecure_registry = false;         // plain HTTP to the registry
  // PEM certificates of a private CA the registry's certificate may chain
  // to (registry.ca_file), besides the system's; empty: none.
  std::filesystem::path registry_ca_file;
  // Sent when the registry asks, for pushes and for pulls of FROM images in
  // it; executors hand them to their tools in a file only they can read,
  // never in argv or the environment. nullopt: anonymous.
  std::optional<RegistryCredentials> registry_credentials;
  // The job's own scratch directory, existing and empty; the caller removes it.
  std::filesystem::path work_dir;
  std::chrono::seconds timeout{3600};
  // The network of the job's RUN steps: builder.network, or the unit's
  // stricter choice.
  NetworkMode network = NetworkMode::kIsolated;
  // Jobs of the same build that run at once, this one included: executors
  // that run on this machine size their threads to their share of it.
  int concurrent_jobs = 1;
  // nullopt: no cache; the job starts from nothing and keeps nothing.
  std::optional<LayerCacheUse> cache;
};

struct PlatformJobResult {
  enum class Outcome { kSucceeded, kFailed, kCancelled, kTimedOut };
  Outcome outcome = Outcome::kFailed;
  std::optional<int> exit_code;  // of the process that ended the job, if one did
  std::string digest;            // the pushed image's manifest digest when succeeded
  std::string error;             // one line saying why, when not succeeded
};

class PlatformJob {
 public:
  virtual ~PlatformJob() = default;
  // Builds and pushes on the calling thread, handing every output line
  // (without its newline) to `on_line` as it is produced. Returns when the
  // job has ended and every process it started has been reaped.
  virtual PlatformJobResult Run(const std::function<void(std::string_view line)>& on_line) = 0;
  // Thread-safe, from any thread, before or during Run: the job stops as
  // soon as it can (its processes are killed) and Run returns kCancelled.
  virtual void Cancel() = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // A job ready to Run; starts nothing yet.
  virtual std::unique_ptr<PlatformJob> Prepare(const PlatformJobSpec& spec) = 0;
  // Called once at start, before any job: stops jobs that a hephyd which
  // crashed left running. Returns how many it stopped.
  virtual int StopOrphans() = 0;
};

class BuildContexts;

// The executor named by builder.executor. kaniko-kubernetes hands its build
// contexts to its pods through `contexts`, which hephyd's HTTP server serves;
// without them it cannot run. Throws Error for an executor that cannot run so.
std::unique_ptr<Executor> MakeExecutor(const Config& config, BuildContexts* contexts = nullptr);

}  // namespace hephy
