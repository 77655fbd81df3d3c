// The daemon's configuration: ARCHITECTURE.md "Config file". Every key has a
// default, so an empty file (or none) is a complete configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hephy/retry_policy.h"
#include "util/listen_address.h"
#include "util/network_mode.h"

namespace hephy {

// ssh.auth_failures: a connection that ends without authenticating after
// trying to is a failure of its address; `limit` failures of one address
// within `window`, and its new connections are refused for `block`.
struct AuthFailuresConfig {
  int limit = 10;  // 0: no limit
  std::chrono::seconds window{60};
  std::chrono::seconds block{5 * 60};
};

struct SshConfig {
  ListenAddress listen{"127.0.0.1", 2222};
  // Authenticated sessions at once; a client beyond it is told to try later.
  int max_sessions = 64;
  // Connections at once that have not authenticated yet (key exchange and
  // authentication, at most 60 s each), as OpenSSH's MaxStartups; a
  // connection beyond it is closed at once.
  int max_startups = 16;
  // Of those, from one IP address at once: one address cannot hold them all.
  int max_startups_per_address = 8;
  // A session that sends and receives nothing for this long is closed; 0:
  // never. git's keepalives during a silent build count as output.
  std::chrono::seconds idle_timeout{10 * 60};
  // Pushes (git-receive-pack) one user may run at once; 0: no limit.
  int max_pushes_per_user = 4;
  AuthFailuresConfig auth_failures;
  // Algorithms offered, in order of preference (util/ssh_algorithms.h);
  // empty: the defaults.
  std::vector<std::string> kex, ciphers, macs;
};

// Who may read /healthz and /metrics without an API token.
enum class OpenEndpoints {
  kLoopback,  // clients on 127.0.0.0/8 and ::1 (a local Prometheus, a probe)
  kAny,       // everyone
  kNone,      // nobody: a token always
};

// The HTTP API (daemon/api/http_api.h): plain HTTP, TLS is a reverse proxy's job.
struct HttpConfig {
  ListenAddress listen{"127.0.0.1", 8080};
  // Connections open at one time; more are answered 503 and closed.
  int max_connections = 64;
  OpenEndpoints open_endpoints = OpenEndpoints::kLoopback;
  // PEM certificate chain and private key: both set, the listener speaks
  // HTTPS only (TLS 1.2 with AEAD suites, or 1.3); reread on SIGHUP. Absolute
  // after parsing, as registry.ca_file.
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  // A TLS-terminating proxy is in front of a plain-HTTP listener: requests
  // bearing credentials are taken only with X-Forwarded-Proto: https.
  // Without it (and without TLS), credentials are refused on a listener
  // that is not loopback.
  bool trust_proxy = false;
  // Where users reach this listener, as "https://builds.example.com" (a
  // proxy's address, a path prefix allowed; no trailing '/' after parsing);
  // empty: not said. A successful push's summary then names its build's
  // page, PUBLIC_URL/apps/APP/builds/N.
  std::string public_url;
};

struct RegistryConfig {
  std::string url = "127.0.0.1:5000";  // host[:port]
  std::string repository = "{app}";
  // Plain HTTP instead of verified TLS. When the file does not say, true for
  // the embedded registry and for a loopback url (127.0.0.0/8, ::1,
  // localhost), false for any other host; serve warns loudly when it is true
  // for a host that is not loopback.
  bool insecure = true;
  // Runs docker-registry on url, over plain HTTP: `insecure: false` together
  // with it is an error.
  bool embedded = true;
  // PEM certificate(s) of a private CA that the registry's certificate may
  // chain to, besides the system's CA store; empty: none. Absolute after
  // parsing ("~/" is $HOME, a relative path is taken from data_dir).
  std::filesystem::path ca_file;
  // Where registry credentials are read (auths, credHelpers, credsStore).
  // When the file does not say: $DOCKER_CONFIG/config.json if DOCKER_CONFIG
  // is set, else ~/.docker/config.json. A missing file means anonymous.
  std::filesystem::path docker_config;
  // registry.retry.attempts and registry.retry.max_time; the back-off
  // itself is not configurable.
  RetryPolicy retry;
};

struct BuildahConfig {
  // vfs works unprivileged and inside containers; overlay is faster where
  // the kernel and privileges allow it.
  std::string storage_driver = "vfs";
  // How RUN steps run: oci (runc, with their own network, PID, mount, IPC
  // and UTS namespaces; what builder.network isolated and none need),
  // rootless (oci in a user namespace; network none or host), or chroot
  // (no runtime; the host's network, so builder.network host only).
  std::string isolation = "oci";
};

// builder.kaniko: the Kaniko executor both Kaniko executors run.
struct KanikoConfig {
  // The image of the Kaniko pods (kaniko-kubernetes): a maintained fork, as
  // the original upstream is end-of-life.
  std::string image = "docker.io/martizih/kaniko:v1.27.6";
  // kaniko-local: the executor binary of the Kaniko image hephyd runs in.
  std::filesystem::path executor_path = "/kaniko/executor";
  // kaniko-local: run a build's platforms at once. Kaniko unpacks every
  // base image into its own root filesystem, so two executors in one
  // container overwrite each other's files; only set this where each
  // executor_path runs in a container of its own (a wrapper script).
  bool parallel = false;
};

// One entry of builder.kubernetes.tolerations, as in a Pod spec.
struct KubeToleration {
  std::string key;
  std::string op = "Equal";  // "operator": Equal or Exists
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute or "" for all
  std::optional<int64_t> toleration_seconds;
};

// builder.kubernetes: where and how kaniko-kubernetes runs its pods.
struct KubernetesConfig {
  // A kubeconfig file; empty: in-cluster (the pod's service account).
  std::filesystem::path kubeconfig;
  std::string context;  // of the kubeconfig; empty: its current-context
  // Where the build pods go; empty: the service account's (or the
  // kubeconfig context's) namespace, else "default".
  std::string namespace_name;
  // How build pods reach hephyd's HTTP server to fetch their context, e.g.
  // "http://hephyd.hephy.svc:8080"; required by kaniko-kubernetes.
  std::string context_url;
  // Image of the init container that fetches the context (needs wget, tar).
  std::string init_image = "docker.io/library/busybox:1.37.0";
  // A Secret (key config.json) with the registry credentials, mounted as
  // /kaniko/.docker/config.json; empty: hephyd creates one per job from
  // its own credentials (registry.docker_config), and deletes it after.
  std::string registry_secret;
  std::string service_account;  // of the build pods; empty: the namespace's default
  // Added to kubernetes.io/os and kubernetes.io/arch of each job's platform.
  std::map<std::string, std::string> node_selector;
  std::vector<KubeToleration> tolerations;
  // The kaniko container's resources: "cpu" -> "2", "memory" -> "4Gi".
  std::map<std::string, std::string> requests;
  std::map<std::string, std::string> limits;
  // A pod still not running its Kaniko container after this fails the job
  // (its image cannot be pulled, ...). Counted from the pod's creation, or,
  // when it had to wait for a node, from when it got one.
  std::chrono::seconds start_timeout{5 * 60};
  // How long a pod the scheduler reports Unschedulable may wait for a node
  // (one a cluster autoscaler adds) before the job fails; 0: fail at once.
  std::chrono::seconds unschedulable_grace{5 * 60};
};

// builder.limits: what one platform job's RUN steps may use together, put
// on the job's cgroup (daemon/executors/job_cgroup.h); where cgroups are not
// available, jobs run without them.
struct BuildLimits {
  // "auto" while parsing; the parsed config holds the machine's memory
  // shared among builder.max_jobs jobs and hephyd.
  static constexpr uint64_t kAutoMemory = UINT64_MAX;
  // Bytes of memory; 0: no limit.
  uint64_t memory = kAutoMemory;
  // Processes and threads at once; 0: no limit.
  int pids = 4096;
  // Relative CPU weight against other jobs (cgroup cpu.shares, 2 to
  // 262144); 0: the system's default (1024).
  int cpu_shares = 0;
};

// builder.cache: the layer cache that lets a build reuse the base images and
// unchanged steps of the same app's earlier builds (docs/hephyd.md).
struct BuildCacheConfig {
  // Pushes and `hephyd rebuild` use it; `-o no-cache`, `rebuild --no-cache`
  // and scheduled rebuilds build every step anew (and keep the result).
  bool enabled = true;
  // The most the buildah executor's cache keeps on disk, the least recently
  // used entries removed first: max_size_bytes, or when that is 0,
  // max_size_percent of the filesystem holding data_dir.
  uint64_t max_size_bytes = 0;
  int max_size_percent = 10;
  // Layers older than this are built again (buildah and Kaniko
  // --cache-ttl); 0: no limit.
  std::chrono::seconds ttl{7 * 24 * 60 * 60};
};

struct BuilderConfig {
  std::string executor = "buildah";
  std::vector<std::string> platforms{"linux/amd64", "linux/arm64"};
  std::vector<std::string> branches{"main"};
  std::chrono::seconds timeout{60 * 60};
  // The network of RUN steps (buildah): isolated reaches out but never the
  // host itself; none has none; host trusts every pusher with the host's.
  NetworkMode network = NetworkMode::kIsolated;
  BuildLimits limits;
  BuildCacheConfig cache;
  // Platform jobs running at once across all pushes; 0 in the file means
  // one per CPU core, which is what the parsed config holds.
  int max_jobs = 0;
  // When the units listed in rebuild-weekly.txt rebuild; syntax in
  // daemon/build/rebuild_schedule.h and docs/hephyd.md.
  std::string rebuild_schedule = "weekly";
  BuildahConfig buildah;
  KanikoConfig kaniko;
  KubernetesConfig kubernetes;
};

struct AppsConfig {
  // A first push to an unknown app creates it, owned by the pusher.
  bool auto_create = true;
};

// Where build units' upstream_repo sources come from, and the credentials
// hephyd fetches them with (daemon/upstream/upstream_cache.h). Paths are absolute
// after parsing: "~/" means $HOME, a relative path is taken from data_dir.
struct UpstreamsConfig {
  // git-credential-store lines, https://USER:TOKEN@HOST[/PATH-PREFIX], for
  // http(s) upstreams; must not be readable by group or others. A missing
  // file means no credentials.
  std::filesystem::path credentials_file = "upstream-credentials";
  // Name of an environment variable whose value is the password (user
  // "x-access-token") for https upstreams without a credentials_file entry;
  // empty: none. Sent only to the hosts of token_hosts (required with it).
  std::string token_env;
  // A fetch whose server neither accepts the connection nor sends or takes
  // a byte for this long fails, naming the host.
  std::chrono::seconds timeout{60};
  // Host names (any case, without port) that may receive token_env's token.
  std::vector<std::string> token_hosts;
  // Private key for ssh:// and scp-style upstreams; empty: none.
  std::filesystem::path ssh_key;
  // OpenSSH known_hosts file an upstream's ssh host key must be listed in;
  // empty: ~/.ssh/known_hosts of hephyd's user, looked up when used.
  std::filesystem::path known_hosts;
  // Whether upstream_repo may be a file:// URL or a local path. Off by
  // default: it would let any pusher build from any repository hephyd's
  // user can read, other apps' included.
  bool allow_local = false;
  // Hosts (names, addresses or CIDRs) upstreams may be fetched from besides
  // public addresses: an internal git server. Empty: public addresses only
  // (net/egress_policy.h).
  std::vector<std::string> allow_hosts;
};

// How `hephyd serve` stops and when it takes pushes.
struct ServeConfig {
  // On SIGTERM or SIGINT, pushes and rebuilds in progress may finish for this
  // long while new ones are refused; then what remains is cancelled.
  std::chrono::seconds drain_timeout{10 * 60};
  // New pushes are refused while data_dir's file system has less free than
  // this (bytes); 0: never.
  uint64_t min_free_space = uint64_t{1} << 30;
};

// Whether the output of a push (and of `hephyd build`/`rebuild` on the
// host) carries ANSI colours: platform prefixes and the final status.
enum class ColorMode {
  kAuto,    // pushes (git's "remote:" relays colours to the pusher's
            // terminal) unless the pusher asks `-o color=never`; host
            // commands when their output is a terminal
  kAlways,  // also host commands into a file or pipe
  kNever,   // unless the pusher asks `-o color=always`
};

// push: how hephyd talks to the pusher.
struct PushConfig {
  ColorMode color = ColorMode::kAuto;
};

// retention: what `hephyd prune` (and serve, daily) removes. A build record
// goes, with its logs, once it is both older than builds_days and not among
// its app's builds_keep newest; a unit's dated images beyond its images_keep
// newest go from the registry, never one an additional tag still names.
struct RetentionConfig {
  int builds_days = 90;  // 0: age keeps none
  int builds_keep = 50;  // per app; 0: none by count
  int images_keep = 20;  // per unit; 0: never prune images
  bool daily = true;     // serve prunes once a day
};

struct Config {
  // The file it was read from (absolute); empty for the built-in defaults.
  // Commands that serve starts for SSH clients read the same one.
  std::filesystem::path file;
  std::filesystem::path data_dir = "./hephy-data";
  SshConfig ssh;
  HttpConfig http;
  RegistryConfig registry;
  BuilderConfig builder;
  AppsConfig apps;
  UpstreamsConfig upstreams;
  ServeConfig serve;
  RetentionConfig retention;
  PushConfig push;

  // Paths derived from data_dir.
  std::filesystem::path ReposDir() const { return data_dir / "repos"; }
  std::filesystem::path DatabasePath() const { return data_dir / "hephy.db"; }
  std::filesystem::path LogsDir() const { return data_dir / "logs"; }
  std::filesystem::path HostKeysDir() const { return data_dir; }
  std::filesystem::path HookSocketPath() const { return data_dir / "hook.sock"; }
  // Per-build scratch space (contexts, buildah storage), removed after each build.
  std::filesystem::path BuildsDir() const { return data_dir / "builds"; }
  std::filesystem::path RegistryDir() const { return data_dir / "registry"; }
  // One bare mirror per upstream_repo URL (daemon/upstream/upstream_cache.h).
  std::filesystem::path UpstreamsDir() const { return data_dir / "upstreams"; }
  // The buildah executor's layer cache (daemon/executors/layer_cache.h).
  std::filesystem::path LayerCacheDir() const { return data_dir / "cache" / "buildah"; }
};

// Parses YAML text. `source` names the text in errors ("hephy.yaml"). Relative
// data_dir is resolved against `base_dir`, "~" against $HOME. Throws Error
// naming source:line and the reason for unknown keys, wrong types and bad values.
Config ParseConfig(const std::string& yaml, const std::string& source,
                   const std::filesystem::path& base_dir);

// Loads the file named by `path`, else by $HEPHY_CONFIG, else the defaults.
// Relative paths in the file are resolved against the current directory.
Config LoadConfig(const std::optional<std::filesystem::path>& path);

}  // namespace hephy
