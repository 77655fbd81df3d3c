#include "hephy/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "hephy/error.h"

namespace hephy {
namespace {

Config Parse(const std::string& yaml) { return ParseConfig(yaml, "hephy.yaml", "/srv"); }

std::string ErrorOf(const std::string& yaml) {
  try {
    Parse(yaml);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, EmptyFileGivesTheDocumentedDefaults) {
  const Config c = Parse("");
  EXPECT_EQ(c.data_dir, "/srv/hephy-data");
  EXPECT_EQ(c.ssh.listen.ToString(), "127.0.0.1:2222");
  EXPECT_EQ(c.ssh.max_sessions, 64);
  EXPECT_EQ(c.ssh.max_startups, 16);
  EXPECT_EQ(c.ssh.idle_timeout, std::chrono::minutes(10));
  EXPECT_EQ(c.ssh.max_pushes_per_user, 4);
  EXPECT_EQ(c.ssh.auth_failures.limit, 10);
  EXPECT_EQ(c.ssh.auth_failures.window, std::chrono::seconds(60));
  EXPECT_EQ(c.ssh.auth_failures.block, std::chrono::minutes(5));
  EXPECT_EQ(c.http.listen.ToString(), "127.0.0.1:8080");
  EXPECT_EQ(c.http.max_connections, 64);
  EXPECT_EQ(c.http.open_endpoints, OpenEndpoints::kLoopback);
  EXPECT_EQ(c.registry.url, "127.0.0.1:5000");
  EXPECT_EQ(c.registry.repository, "{app}");
  EXPECT_TRUE(c.registry.insecure);
  EXPECT_TRUE(c.registry.embedded);
  EXPECT_EQ(c.builder.executor, "buildah");
  EXPECT_EQ(c.builder.platforms, (std::vector<std::string>{"linux/amd64", "linux/arm64"}));
  EXPECT_EQ(c.builder.branches, std::vector<std::string>{"main"});
  EXPECT_EQ(c.builder.timeout, std::chrono::minutes(60));
  EXPECT_EQ(c.builder.max_jobs, static_cast<int>(std::thread::hardware_concurrency()));
  EXPECT_EQ(c.builder.buildah.storage_driver, "vfs");
  EXPECT_EQ(c.builder.buildah.isolation, "oci");
  EXPECT_EQ(c.builder.network, NetworkMode::kIsolated);
  const uint64_t machine =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(c.builder.limits.memory, machine / (std::thread::hardware_concurrency() + 1));
  EXPECT_EQ(c.builder.limits.pids, 4096);
  EXPECT_EQ(c.builder.limits.cpu_shares, 0);
  EXPECT_TRUE(c.apps.auto_create);
  EXPECT_EQ(c.upstreams.credentials_file, "/srv/hephy-data/upstream-credentials");
  EXPECT_EQ(c.upstreams.token_env, "");
  EXPECT_EQ(c.upstreams.ssh_key, "");
  EXPECT_EQ(c.upstreams.known_hosts, "");
  EXPECT_FALSE(c.upstreams.allow_local);
  EXPECT_EQ(c.UpstreamsDir(), "/srv/hephy-data/upstreams");
  EXPECT_EQ(c.DatabasePath(), "/srv/hephy-data/hephy.db");
  EXPECT_EQ(c.ReposDir(), "/srv/hephy-data/repos");
}

TEST(Config, ReadsEveryKey) {
  const Config c = Parse(R"(
data_dir: /var/lib/hephy
ssh: { listen: "0.0.0.0:22", max_sessions: 8 }
http: { listen: "[::1]:9090", max_connections: 5, open_endpoints: none }
registry:
  url: registry.example.com
  repository: tools
  insecure: false
  embedded: false
  ca_file: certs/registry-ca.pem
  docker_config: /etc/hephy/docker.json
builder:
  executor: kaniko-local
  platforms: [linux/arm/v7]
  branches: [main, release]
  timeout: 1h30m
  max_jobs: 3
  network: none
  buildah: { storage_driver: overlay, isolation: oci }
apps: { auto_create: false }
upstreams:
  credentials_file: /etc/hephy/upstream-credentials
  token_env: GITHUB_TOKEN
  token_hosts: [github.com]
  ssh_key: keys/upstream_ed25519
  known_hosts: /etc/hephy/known_hosts
  allow_local: true
  allow_hosts: [gitlab.internal, 10.20.0.0/16]
)");
  EXPECT_EQ(c.data_dir, "/var/lib/hephy");
  EXPECT_EQ(c.ssh.listen.host, "0.0.0.0");
  EXPECT_EQ(c.ssh.listen.port, 22);
  EXPECT_EQ(c.ssh.max_sessions, 8);
  EXPECT_EQ(c.http.listen.host, "::1");
  EXPECT_EQ(c.http.listen.ToString(), "[::1]:9090");
  EXPECT_EQ(c.http.max_connections, 5);
  EXPECT_EQ(c.http.open_endpoints, OpenEndpoints::kNone);
  EXPECT_EQ(c.registry.repository, "tools");
  EXPECT_FALSE(c.registry.insecure);
  EXPECT_FALSE(c.registry.embedded);
  EXPECT_EQ(c.registry.ca_file, "/var/lib/hephy/certs/registry-ca.pem");
  EXPECT_EQ(c.registry.docker_config, "/etc/hephy/docker.json");
  EXPECT_EQ(c.builder.executor, "kaniko-local");
  EXPECT_EQ(c.builder.platforms, std::vector<std::string>{"linux/arm/v7"});
  EXPECT_EQ(c.builder.timeout, std::chrono::minutes(90));
  EXPECT_EQ(c.builder.max_jobs, 3);
  EXPECT_EQ(c.builder.network, NetworkMode::kNone);
  EXPECT_EQ(c.builder.buildah.storage_driver, "overlay");
  EXPECT_EQ(c.builder.buildah.isolation, "oci");
  EXPECT_FALSE(c.apps.auto_create);
  EXPECT_EQ(c.upstreams.credentials_file, "/etc/hephy/upstream-credentials");
  EXPECT_EQ(c.upstreams.token_env, "GITHUB_TOKEN");
  EXPECT_EQ(c.upstreams.token_hosts, std::vector<std::string>{"github.com"});
  EXPECT_EQ(c.upstreams.allow_hosts, (std::vector<std::string>{"gitlab.internal", "10.20.0.0/16"}));
  EXPECT_EQ(c.upstreams.ssh_key, "/var/lib/hephy/keys/upstream_ed25519");
  EXPECT_EQ(c.upstreams.known_hosts, "/etc/hephy/known_hosts");
  EXPECT_TRUE(c.upstreams.allow_local);
}

TEST(Config, BuildNetworkMustBeKeptByTheIsolation) {
  EXPECT_EQ(Parse("builder: { network: host }").builder.network, NetworkMode::kHost);
  EXPECT_EQ(Parse("builder: { network: host, buildah: { isolation: chroot } }").builder.network,
            NetworkMode::kHost);
  EXPECT_EQ(Parse("builder: { network: none, buildah: { isolation: rootless } }").builder.network,
            NetworkMode::kNone);
  // kaniko-local runs no buildah: its isolation setting does not matter.
  EXPECT_EQ(Parse("builder: { executor: kaniko-local, buildah: { isolation: chroot } }")
                .builder.buildah.isolation,
            "chroot");
  EXPECT_EQ(ErrorOf("builder: { network: open }"),
            "hephy.yaml:1: builder.network: expected isolated, none or host");
  EXPECT_EQ(ErrorOf("builder:\n  buildah: { isolation: chroot }\n"),
            "hephy.yaml:2: builder: network isolated cannot be kept with buildah.isolation "
            "chroot: it shares the host's network; use buildah.isolation oci, or network host");
  EXPECT_EQ(ErrorOf("builder: { network: none, buildah: { isolation: chroot } }"),
            "hephy.yaml:1: builder: network none cannot be kept with buildah.isolation chroot: "
            "it shares the host's network; use buildah.isolation oci, or network host");
  EXPECT_EQ(ErrorOf("builder: { buildah: { isolation: rootless } }"),
            "hephy.yaml:1: builder: network isolated cannot be kept with buildah.isolation "
            "rootless: rootless builds cannot use hephyd's build bridge; use buildah.isolation "
            "oci, or network none or host");
}

TEST(Config, BuildLimitsTakeSizesAndCounts) {
  const Config c = Parse("builder:\n  limits: { memory: 512m, pids: 100, cpu_shares: 512 }\n");
  EXPECT_EQ(c.builder.limits.memory, 512ull << 20);
  EXPECT_EQ(c.builder.limits.pids, 100);
  EXPECT_EQ(c.builder.limits.cpu_shares, 512);
  EXPECT_EQ(Parse("builder: { limits: { memory: 2G } }").builder.limits.memory, 2ull << 30);
  EXPECT_EQ(Parse("builder: { limits: { memory: 0, pids: 0 } }").builder.limits.memory, 0u);
  EXPECT_EQ(Parse("builder: { max_jobs: 3, limits: { memory: auto } }").builder.limits.memory,
            static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 4);
  EXPECT_EQ(ErrorOf("builder:\n  limits:\n    memory: lots\n"),
            "hephy.yaml:3: builder.limits.memory: expected auto, 0 (no limit) or a size such as "
            "512m or 4g, got 'lots'");
  EXPECT_EQ(ErrorOf("builder:\n  limits:\n    memory: 1m\n"),
            "hephy.yaml:3: builder.limits.memory: '1m' is less than 64m, which no build runs in");
  EXPECT_EQ(ErrorOf("builder:\n  limits:\n    pids: 3\n"),
            "hephy.yaml:3: builder.limits.pids: expected 0 (no limit) or a number from 16 to "
            "4194304");
  EXPECT_EQ(ErrorOf("builder:\n  limits:\n    cpu_shares: 1\n"),
            "hephy.yaml:3: builder.limits.cpu_shares: expected 0 (no limit) or a number from 2 to "
            "262144");
}

TEST(Config, BuildCacheIsOnAndBoundedByDefault) {
  const Config defaults = Parse("");
  EXPECT_TRUE(defaults.builder.cache.enabled);
  EXPECT_EQ(defaults.builder.cache.max_size_bytes, 0u);
  EXPECT_EQ(defaults.builder.cache.max_size_percent, 10);
  EXPECT_EQ(defaults.builder.cache.ttl, std::chrono::hours(168));
  EXPECT_EQ(defaults.LayerCacheDir(), defaults.data_dir / "cache" / "buildah");

  const Config c = Parse("builder:\n  cache: { enabled: false, max_size: 20g, ttl: 0 }\n");
  EXPECT_FALSE(c.builder.cache.enabled);
  EXPECT_EQ(c.builder.cache.max_size_bytes, 20ull << 30);
  EXPECT_EQ(c.builder.cache.ttl, std::chrono::seconds(0));
  EXPECT_EQ(Parse("builder: { cache: { max_size: 2T } }").builder.cache.max_size_bytes, 2ull << 40);
  const Config share = Parse("builder: { cache: { max_size: 25%, ttl: 72h } }");
  EXPECT_EQ(share.builder.cache.max_size_bytes, 0u);
  EXPECT_EQ(share.builder.cache.max_size_percent, 25);
  EXPECT_EQ(share.builder.cache.ttl, std::chrono::hours(72));

  EXPECT_EQ(ErrorOf("builder:\n  cache:\n    max_size: lots\n"),
            "hephy.yaml:3: builder.cache.max_size: expected a share of the disk such as 10% or a "
            "size such as 20g, got 'lots'");
  EXPECT_EQ(ErrorOf("builder:\n  cache:\n    max_size: 0%\n"),
            "hephy.yaml:3: builder.cache.max_size: expected a share of the disk from 1% to 99%");
  EXPECT_EQ(ErrorOf("builder:\n  cache:\n    max_size: 0\n"),
            "hephy.yaml:3: builder.cache.max_size: expected a size above 0 "
            "(builder.cache.enabled: false turns it off)");
  EXPECT_EQ(ErrorOf("builder:\n  cache:\n    max_size: 999999999t\n"),
            "hephy.yaml:3: builder.cache.max_size: '999999999t' is too large");
  EXPECT_EQ(ErrorOf("builder:\n  cache:\n    size: 1g\n").substr(0, 31),
            "hephy.yaml:3: builder.cache.siz");
}

TEST(Config, ServeDrainsForTenMinutesAndKeepsAGigabyteFree) {
  const Config defaults = Parse("");
  EXPECT_EQ(defaults.serve.drain_timeout, std::chrono::minutes(10));
  EXPECT_EQ(defaults.serve.min_free_space, 1ull << 30);

  const Config c = Parse("serve:\n  drain_timeout: 90s\n  min_free_space: 512m\n");
  EXPECT_EQ(c.serve.drain_timeout, std::chrono::seconds(90));
  EXPECT_EQ(c.serve.min_free_space, 512ull << 20);
  const Config off = Parse("serve: { drain_timeout: 0, min_free_space: 0 }");
  EXPECT_EQ(off.serve.drain_timeout, std::chrono::seconds(0));
  EXPECT_EQ(off.serve.min_free_space, 0u);

  EXPECT_EQ(ErrorOf("serve:\n  min_free_space: plenty\n"),
            "hephy.yaml:2: serve.min_free_space: expected 0 (never refuse) or a size such as 512m "
            "or 2g, got 'plenty'");
  EXPECT_EQ(ErrorOf("serve:\n  drain_timeout: soon\n"),
            "hephy.yaml:2: serve.drain_timeout: expected a duration such as 90s, 60m or 1h30m, got "
            "'soon', or 0 (stop at once)");
}

TEST(Config, SshLimits) {
  const Config c = Parse(R"(
ssh:
  max_startups: 4
  idle_timeout: 90s
  max_pushes_per_user: 0
  auth_failures: { limit: 3, window: 10m, block: 1h }
)");
  EXPECT_EQ(c.ssh.max_startups, 4);
  EXPECT_EQ(c.ssh.idle_timeout, std::chrono::seconds(90));
  EXPECT_EQ(c.ssh.max_pushes_per_user, 0);
  EXPECT_EQ(c.ssh.auth_failures.limit, 3);
  EXPECT_EQ(c.ssh.auth_failures.window, std::chrono::minutes(10));
  EXPECT_EQ(c.ssh.auth_failures.block, std::chrono::hours(1));
  EXPECT_EQ(Parse("ssh: { idle_timeout: 0 }").ssh.idle_timeout, std::chrono::seconds(0));
  EXPECT_EQ(Parse("ssh: { auth_failures: { limit: 0 } }").ssh.auth_failures.limit, 0);
}

TEST(Config, SshLimitErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("ssh:\n  max_startups: 0\n"),
            "hephy.yaml:2: ssh.max_startups: expected a positive integer");
  EXPECT_EQ(ErrorOf("ssh:\n  idle_timeout: forever\n"),
            "hephy.yaml:2: ssh.idle_timeout: expected a duration such as 90s, 60m or 1h30m, got "
            "'forever', or 0 (never)");
  EXPECT_EQ(ErrorOf("ssh:\n  max_pushes_per_user: -1\n"),
            "hephy.yaml:2: ssh.max_pushes_per_user: expected 0 (no limit) or a positive integer");
  EXPECT_EQ(ErrorOf("ssh:\n  auth_failures:\n    limit: many\n"),
            "hephy.yaml:3: ssh.auth_failures.limit: expected 0 (no limit) or a positive integer");
  EXPECT_EQ(ErrorOf("ssh:\n  auth_failures:\n    limit: 5000\n"),
            "hephy.yaml:3: ssh.auth_failures.limit: must be at most 1000");
  EXPECT_EQ(ErrorOf("ssh:\n  auth_failures:\n    window: 0\n"),
            "hephy.yaml:3: ssh.auth_failures.window: expected a duration such as 90s, 60m or "
            "1h30m, got '0'");
  EXPECT_EQ(ErrorOf("ssh:\n  auth_failures:\n    ban: 1h\n"),
            "hephy.yaml:3: ssh.auth_failures.ban: unknown key (expected one of: block, limit, "
            "window)");
  EXPECT_EQ(ErrorOf("ssh:\n  auth_failures: 10\n"),
            "hephy.yaml:2: ssh.auth_failures: expected a mapping");
}

TEST(Config, UpstreamPathsAreTakenFromDataDirAndHome) {
  setenv("HOME", "/home/h", 1);
  const Config c = Parse(
      "data_dir: /d\nupstreams: { credentials_file: creds, ssh_key: ~/.ssh/id, known_hosts: kh }");
  EXPECT_EQ(c.upstreams.credentials_file, "/d/creds");
  EXPECT_EQ(c.upstreams.ssh_key, "/home/h/.ssh/id");
  EXPECT_EQ(c.upstreams.known_hosts, "/d/kh");
}

TEST(Config, UpstreamTimeoutIsAMinuteByDefault) {
  EXPECT_EQ(Parse("").upstreams.timeout, std::chrono::seconds(60));
  EXPECT_EQ(Parse("upstreams: { timeout: 2m }").upstreams.timeout, std::chrono::minutes(2));
  EXPECT_EQ(ErrorOf("upstreams:\n  timeout: soon\n"),
            "hephy.yaml:2: upstreams.timeout: expected a duration such as 90s, 60m or 1h30m, got "
            "'soon'");
}

TEST(Config, UpstreamKeysAreChecked) {
  EXPECT_EQ(
      ErrorOf("upstreams:\n  token: x\n"),
      "hephy.yaml:2: upstreams.token: unknown key (expected one of: allow_hosts, "
      "allow_local, credentials_file, known_hosts, ssh_key, timeout, token_env, token_hosts)");
  EXPECT_EQ(ErrorOf("upstreams:\n  token_env: 1TOKEN\n"),
            "hephy.yaml:2: upstreams.token_env: invalid environment variable name '1TOKEN' "
            "(expected letters, digits and _, not starting with a digit)");
  EXPECT_NE(ErrorOf("upstreams:\n  token_env: A-B\n").find("invalid environment variable name"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("upstreams:\n  ssh_key: [a]\n"),
            "hephy.yaml:2: upstreams.ssh_key: expected a string");
  EXPECT_EQ(ErrorOf("upstreams:\n  credentials_file: \"\"\n"),
            "hephy.yaml:2: upstreams.credentials_file: must not be empty");
  EXPECT_EQ(ErrorOf("upstreams:\n  allow_local: sometimes\n"),
            "hephy.yaml:2: upstreams.allow_local: expected true or false");
  EXPECT_EQ(ErrorOf("upstreams: token\n"), "hephy.yaml:1: upstreams: expected a mapping");
  EXPECT_EQ(ErrorOf("upstreams:\n  token_env: GITLAB_TOKEN\n"),
            "hephy.yaml:2: upstreams: token_env needs token_hosts: the hosts that may receive "
            "$GITLAB_TOKEN (any https host a build-config.yaml names would ask for it otherwise)");
  EXPECT_EQ(
      Parse("upstreams: { token_env: T, token_hosts: [gitlab.example] }").upstreams.token_hosts,
      (std::vector<std::string>{"gitlab.example"}));
  EXPECT_EQ(ErrorOf("upstreams:\n  allow_hosts: [gitlab.internal, 10.0.0.0/40]\n"),
            "hephy.yaml:2: upstreams.allow_hosts: '10.0.0.0/40': the prefix length must be a "
            "number from 0 to 32");
  EXPECT_EQ(
      Parse("upstreams:\n  allow_hosts: [gitlab.internal, 10.0.0.0/8]\n").upstreams.allow_hosts,
      (std::vector<std::string>{"gitlab.internal", "10.0.0.0/8"}));
}

TEST(Config, RelativeDataDirIsResolvedAgainstTheBaseDirectory) {
  EXPECT_EQ(Parse("data_dir: state/hephy").data_dir, "/srv/state/hephy");
}

TEST(Config, RegistryIsPlainHttpByDefaultOnlyOnLoopbackOrEmbedded) {
  EXPECT_TRUE(Parse("").registry.insecure);
  EXPECT_TRUE(Parse("registry: { url: \"localhost:5000\", embedded: false }").registry.insecure);
  EXPECT_TRUE(Parse("registry: { url: \"[::1]:5000\", embedded: false }").registry.insecure);
  EXPECT_FALSE(Parse("registry: { url: registry.example, embedded: false }").registry.insecure);
  EXPECT_FALSE(Parse("registry: { url: \"10.0.0.5:5000\", embedded: false }").registry.insecure);
  // Said explicitly, it holds either way.
  EXPECT_TRUE(Parse("registry: { url: registry.example, embedded: false, insecure: true }")
                  .registry.insecure);
  EXPECT_FALSE(Parse("registry: { url: \"127.0.0.1:5443\", embedded: false, insecure: false }")
                   .registry.insecure);
}

TEST(Config, EmbeddedRegistryWithTlsIsRefused) {
  EXPECT_EQ(ErrorOf("registry:\n  url: \"127.0.0.1:5000\"\n  insecure: false\n"),
            "hephy.yaml:3: registry.insecure: false needs a registry that speaks TLS, but the "
            "embedded one (registry.embedded: true, the default) serves plain HTTP on loopback; "
            "set registry.embedded: false to use an external registry over TLS, or drop "
            "registry.insecure: false");
}

TEST(Config, RegistryCaFileIsTakenFromDataDirAndHome) {
  EXPECT_EQ(Parse("").registry.ca_file, "");
  EXPECT_EQ(Parse("registry: { ca_file: ca.pem }").registry.ca_file, "/srv/hephy-data/ca.pem");
  EXPECT_EQ(Parse("registry: { ca_file: /etc/ssl/private-ca.pem }").registry.ca_file,
            "/etc/ssl/private-ca.pem");
  setenv("HOME", "/home/tester", 1);
  EXPECT_EQ(Parse("registry: { ca_file: ~/ca.pem }").registry.ca_file, "/home/tester/ca.pem");
}

TEST(Config, RegistryUrlMustBeHostAndPort) {
  EXPECT_EQ(ErrorOf("registry:\n  url: https://registry.example\n"),
            "hephy.yaml:2: registry.url: 'https://registry.example': no scheme expected "
            "(expected host[:port], e.g. 127.0.0.1:5000)");
}

TEST(Config, HttpOpenEndpointsIsLoopbackAnyOrNone) {
  EXPECT_EQ(Parse("http:\n  open_endpoints: any\n").http.open_endpoints, OpenEndpoints::kAny);
  EXPECT_EQ(Parse("http:\n  open_endpoints: loopback\n").http.open_endpoints,
            OpenEndpoints::kLoopback);
  EXPECT_EQ(ErrorOf("http:\n  open_endpoints: everyone\n"),
            "hephy.yaml:2: http.open_endpoints: expected loopback, any or none, got 'everyone'");
  EXPECT_EQ(ErrorOf("http:\n  open_endpoints: [any]\n"),
            "hephy.yaml:2: http.open_endpoints: expected a string");
  EXPECT_EQ(ErrorOf("http:\n  max_connections: 0\n"),
            "hephy.yaml:2: http.max_connections: expected a positive integer");
  EXPECT_EQ(ErrorOf("http:\n  listen: \"127.0.0.1\"\n"),
            "hephy.yaml:2: http.listen: expected HOST:PORT, got '127.0.0.1'");
  EXPECT_EQ(ErrorOf("http:\n  tls: true\n"),
            "hephy.yaml:2: http.tls: unknown key (expected one of: listen, max_connections, "
            "open_endpoints, public_url, tls_cert, tls_key, trust_proxy)");
}

TEST(Config, HttpPublicUrlIsAnHttpAddressWithoutTrailingSlash) {
  EXPECT_EQ(Parse("").http.public_url, "");
  EXPECT_EQ(Parse("http:\n  public_url: https://builds.example.com/\n").http.public_url,
            "https://builds.example.com");
  EXPECT_EQ(Parse("http:\n  public_url: http://host:8080/hephy\n").http.public_url,
            "http://host:8080/hephy");
  EXPECT_EQ(ErrorOf("http:\n  public_url: builds.example.com\n"),
            "hephy.yaml:2: http.public_url: expected the address users reach hephyd's HTTP "
            "listener at, such as https://builds.example.com, got 'builds.example.com'");
  EXPECT_NE(ErrorOf("http:\n  public_url: \"https://\"\n"), "no error");
  EXPECT_NE(ErrorOf("http:\n  public_url: \"https://a b\"\n"), "no error");
}

TEST(Config, PushColorIsAutoAlwaysOrNever) {
  EXPECT_EQ(Parse("").push.color, ColorMode::kAuto);
  EXPECT_EQ(Parse("push:\n  color: never\n").push.color, ColorMode::kNever);
  EXPECT_EQ(Parse("push:\n  color: always\n").push.color, ColorMode::kAlways);
  EXPECT_EQ(Parse("push: { color: auto }\n").push.color, ColorMode::kAuto);
  EXPECT_EQ(ErrorOf("push:\n  color: yes\n"),
            "hephy.yaml:2: push.color: expected auto, always or never, got 'yes'");
}

TEST(Config, HttpsNeedsBothTheCertificateAndTheKey) {
  const Config config = Parse(
      "data_dir: /srv/hephy\nhttp:\n  tls_cert: tls/cert.pem\n  tls_key: /etc/key.pem\n"
      "  trust_proxy: true\n");
  EXPECT_EQ(config.http.tls_cert, "/srv/hephy/tls/cert.pem");
  EXPECT_EQ(config.http.tls_key, "/etc/key.pem");
  EXPECT_TRUE(config.http.trust_proxy);
  EXPECT_FALSE(Parse("").http.trust_proxy);
  EXPECT_EQ(ErrorOf("http:\n  tls_cert: cert.pem\n"),
            "hephy.yaml: http.tls_cert and http.tls_key: set both to serve HTTPS, or neither");
}

TEST(Config, UnknownKeyNamesFileLineAndTheAllowedKeys) {
  EXPECT_EQ(ErrorOf("ssh:\n  listen: \"127.0.0.1:22\"\n  max_sesions: 3\n"),
            "hephy.yaml:3: ssh.max_sesions: unknown key (expected one of: auth_failures, "
            "ciphers, idle_timeout, kex, listen, macs, max_pushes_per_user, max_sessions, "
            "max_startups, max_startups_per_address)");
  EXPECT_TRUE(ErrorOf("ssh:\n  macs: +hmac-md5\n")
                  .starts_with("hephy.yaml:2: ssh.macs: unknown algorithm 'hmac-md5' (hephyd's "
                               "SSH server knows "));
  EXPECT_EQ(Parse("ssh: { kex: curve25519-sha256 }").ssh.kex,
            std::vector<std::string>{"curve25519-sha256"});
  EXPECT_EQ(ErrorOf("colour: blue\n").substr(0, 34), "hephy.yaml:1: colour: unknown key ");
}

TEST(Config, BadValuesNameFileLineAndReason) {
  EXPECT_EQ(ErrorOf("ssh:\n  listen: nowhere\n"),
            "hephy.yaml:2: ssh.listen: expected HOST:PORT, got 'nowhere'");
  EXPECT_EQ(ErrorOf("ssh: { listen: \"127.0.0.1:99999\" }"),
            "hephy.yaml:1: ssh.listen: port must be a number from 0 to 65535, got '99999'");
  EXPECT_EQ(ErrorOf("ssh:\n  max_sessions: -1\n"),
            "hephy.yaml:2: ssh.max_sessions: expected a positive integer");
  EXPECT_EQ(ErrorOf("registry:\n  insecure: maybe\n"),
            "hephy.yaml:2: registry.insecure: expected true or false");
  EXPECT_EQ(ErrorOf("builder:\n  executor: docker\n"),
            "hephy.yaml:2: builder.executor: unknown executor 'docker' (expected buildah, "
            "kaniko-kubernetes or kaniko-local)");
  EXPECT_EQ(ErrorOf("builder:\n  platforms: [linux/amd64, x86]\n"),
            "hephy.yaml:2: builder.platforms: invalid platform 'x86' (expected os/arch[/variant])");
  EXPECT_EQ(ErrorOf("builder:\n  timeout: soon\n"),
            "hephy.yaml:2: builder.timeout: expected a duration such as 90s, 60m or 1h30m, got "
            "'soon'");
  EXPECT_EQ(ErrorOf("builder:\n  branches: main\n"),
            "hephy.yaml:2: builder.branches: expected a list of strings");
  EXPECT_EQ(ErrorOf("ssh: [1, 2]\n"), "hephy.yaml:1: ssh: expected a mapping");
  EXPECT_EQ(ErrorOf("builder:\n  max_jobs: -2\n"),
            "hephy.yaml:2: builder.max_jobs: expected 0 (one per CPU core) or a positive integer");
  EXPECT_EQ(ErrorOf("builder:\n  buildah:\n    storage_driver: btrfs\n"),
            "hephy.yaml:3: builder.buildah.storage_driver: expected vfs or overlay");
}

TEST(Config, BranchesMustBeValidGitBranchNames) {
  EXPECT_EQ(Parse("builder: { branches: [main, release/1.x] }").builder.branches.size(), 2u);
  EXPECT_EQ(ErrorOf("builder:\n  branches: [main, \"bad..name\"]\n"),
            "hephy.yaml:2: builder.branches: invalid branch name 'bad..name'");
  for (const char* bad : {"HEAD", "-x", "a b", "x.lock", "/x", "x~1"}) {
    EXPECT_NE(ErrorOf(std::string("builder: { branches: [\"") + bad + "\"] }"), "no error") << bad;
  }
}

TEST(Config, HomeIsExpandedInPathsIncludingDefaults) {
  setenv("HOME", "/home/h", 1);
  unsetenv("DOCKER_CONFIG");
  EXPECT_EQ(Parse("").registry.docker_config, "/home/h/.docker/config.json");
  EXPECT_EQ(Parse("registry: { docker_config: ~/d.json }").registry.docker_config,
            "/home/h/d.json");
  EXPECT_EQ(Parse("data_dir: ~/state").data_dir, "/home/h/state");
}

TEST(Config, DockerConfigDefaultsToDockersOwnLookup) {
  setenv("HOME", "/home/h", 1);
  setenv("DOCKER_CONFIG", "/etc/docker-ci", 1);
  EXPECT_EQ(Parse("").registry.docker_config, "/etc/docker-ci/config.json");
  EXPECT_EQ(Parse("registry: { docker_config: /x/c.json }").registry.docker_config, "/x/c.json");
  unsetenv("DOCKER_CONFIG");
  EXPECT_EQ(Parse("").registry.docker_config, "/home/h/.docker/config.json");
}

TEST(Config, RegistryRetryBoundsTriesAndTime) {
  const auto defaults = Parse("").registry.retry;
  EXPECT_EQ(defaults.attempts, 5);
  EXPECT_EQ(defaults.max_time, std::chrono::seconds(60));
  const auto set = Parse("registry:\n  retry: { attempts: 2, max_time: 2m }\n").registry.retry;
  EXPECT_EQ(set.attempts, 2);
  EXPECT_EQ(set.max_time, std::chrono::minutes(2));
  EXPECT_EQ(ErrorOf("registry:\n  retry: { attempts: 0 }\n"),
            "hephy.yaml:2: registry.retry.attempts: expected a positive integer");
  EXPECT_EQ(ErrorOf("registry:\n  retry: { max_time: soon }\n").substr(0, 42),
            "hephy.yaml:2: registry.retry.max_time: exp");
}

TEST(Config, KanikoAndKubernetesKeys) {
  const Config c = Parse(R"(
builder:
  executor: kaniko-kubernetes
  kaniko:
    image: registry.example/kaniko:v1.27.6
    executor_path: /opt/kaniko/executor
    parallel: true
  kubernetes:
    kubeconfig: kube/config
    context: build-cluster
    namespace: hephy-builds
    context_url: http://hephyd.hephy.svc:8080/
    init_image: registry.example/busybox:1.37
    registry_secret: registry-push
    service_account: hephy-build
    node_selector: {pool: builders}
    tolerations:
      - {key: arch, operator: Equal, value: arm64, effect: NoSchedule}
      - {key: spot, operator: Exists, tolerationSeconds: 30}
    resources:
      requests: {cpu: "1", memory: 2Gi}
      limits: {memory: 4Gi}
    start_timeout: 2m
    unschedulable_grace: 10m
)");
  EXPECT_EQ(c.builder.kaniko.image, "registry.example/kaniko:v1.27.6");
  EXPECT_EQ(c.builder.kaniko.executor_path, "/opt/kaniko/executor");
  EXPECT_TRUE(c.builder.kaniko.parallel);
  const auto& k = c.builder.kubernetes;
  EXPECT_EQ(k.kubeconfig, "/srv/hephy-data/kube/config");
  EXPECT_EQ(k.context, "build-cluster");
  EXPECT_EQ(k.namespace_name, "hephy-builds");
  EXPECT_EQ(k.context_url, "http://hephyd.hephy.svc:8080");
  EXPECT_EQ(k.init_image, "registry.example/busybox:1.37");
  EXPECT_EQ(k.registry_secret, "registry-push");
  EXPECT_EQ(k.service_account, "hephy-build");
  EXPECT_EQ(k.node_selector, (std::map<std::string, std::string>{{"pool", "builders"}}));
  ASSERT_EQ(k.tolerations.size(), 2u);
  EXPECT_EQ(k.tolerations[0].value, "arm64");
  EXPECT_EQ(k.tolerations[0].effect, "NoSchedule");
  EXPECT_EQ(k.tolerations[1].op, "Exists");
  EXPECT_EQ(k.tolerations[1].toleration_seconds, 30);
  EXPECT_EQ(k.requests.at("memory"), "2Gi");
  EXPECT_EQ(k.limits.at("memory"), "4Gi");
  EXPECT_EQ(k.start_timeout, std::chrono::minutes(2));
  EXPECT_EQ(k.unschedulable_grace, std::chrono::minutes(10));
}

TEST(Config, KanikoDefaultsAreAMaintainedImageAndOneAtATime) {
  const Config c = Parse("");
  EXPECT_EQ(c.builder.kaniko.image, "docker.io/martizih/kaniko:v1.27.6");
  EXPECT_EQ(c.builder.kaniko.executor_path, "/kaniko/executor");
  EXPECT_FALSE(c.builder.kaniko.parallel);
  EXPECT_TRUE(c.builder.kubernetes.kubeconfig.empty());
  EXPECT_EQ(c.builder.kubernetes.start_timeout, std::chrono::minutes(5));
  EXPECT_EQ(c.builder.kubernetes.unschedulable_grace, std::chrono::minutes(5));
}

TEST(Config, AnUnschedulableGraceOfZeroFailsAtOnce) {
  EXPECT_EQ(Parse("builder: {kubernetes: {unschedulable_grace: 0}}")
                .builder.kubernetes.unschedulable_grace,
            std::chrono::seconds(0));
  EXPECT_EQ(Parse("builder: {kubernetes: {unschedulable_grace: 90s}}")
                .builder.kubernetes.unschedulable_grace,
            std::chrono::seconds(90));
  EXPECT_EQ(ErrorOf("builder:\n  kubernetes:\n    unschedulable_grace: a while\n"),
            "hephy.yaml:3: builder.kubernetes.unschedulable_grace: expected a duration such as "
            "90s, 60m or 1h30m, got 'a while', or 0 (fail at once)");
  EXPECT_EQ(ErrorOf("builder: {kubernetes: {unschedulable_grace: -5m}}"),
            "hephy.yaml:1: builder.kubernetes.unschedulable_grace: expected a duration such as "
            "90s, 60m or 1h30m, got '-5m', or 0 (fail at once)");
  EXPECT_EQ(ErrorOf("builder: {kubernetes: {unschedulable_grace: [5m]}}"),
            "hephy.yaml:1: builder.kubernetes.unschedulable_grace: expected a string");
}

TEST(Config, EmptyKubernetesNamesMeanTheDefaults) {
  const Config c = Parse(
      "builder: {kubernetes: {namespace: '', registry_secret: '', service_account: '', "
      "context_url: ''}}");
  EXPECT_EQ(c.builder.kubernetes.namespace_name, "");
  EXPECT_EQ(c.builder.kubernetes.context_url, "");
}

TEST(Config, KubernetesErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("builder: {executor: kaniko-kubernetes}"),
            "hephy.yaml: builder.kubernetes.context_url: required by executor kaniko-kubernetes "
            "(the URL build pods reach hephyd's HTTP server at, e.g. "
            "http://hephyd.hephy.svc:8080)");
  EXPECT_EQ(ErrorOf("builder: {kubernetes: {namespace: Builds}}"),
            "hephy.yaml:1: builder.kubernetes.namespace: invalid name 'Builds' (expected at most "
            "63 lower-case letters, digits and '-', starting and ending with a letter or digit)");
  EXPECT_EQ(ErrorOf("builder: {kubernetes: {context_url: 'hephyd:8080'}}"),
            "hephy.yaml:1: builder.kubernetes.context_url: expected the http:// or https:// URL "
            "build pods reach hephyd's HTTP server at, e.g. http://hephyd.hephy.svc:8080");
  EXPECT_EQ(ErrorOf("builder: {kubernetes: {tolerations: [{operator: Maybe}]}}"),
            "hephy.yaml:1: builder.kubernetes.tolerations.operator: expected Equal or Exists");
  EXPECT_EQ(ErrorOf("builder: {kubernetes: {tolerations: [{operator: Exists, value: x}]}}"),
            "hephy.yaml:1: builder.kubernetes.tolerations: a toleration with operator Exists "
            "takes no value");
  EXPECT_EQ(ErrorOf("builder: {kaniko: {executor_path: kaniko/executor}}"),
            "hephy.yaml:1: builder.kaniko.executor_path: expected an absolute path");
  EXPECT_EQ(ErrorOf("builder: {kubernetes: {resources: {requests: [1]}}}"),
            "hephy.yaml:1: builder.kubernetes.resources.requests: expected a mapping of strings");
}

TEST(Config, MalformedYamlNamesTheLine) {
  EXPECT_EQ(ErrorOf("ssh:\n  listen: [\n").substr(0, 27), "hephy.yaml:3: invalid YAML:");
}

TEST(Config, RetentionKeepsNinetyDaysFiftyBuildsAndTwentyImagesByDefault) {
  const Config c = Parse("");
  EXPECT_EQ(c.retention.builds_days, 90);
  EXPECT_EQ(c.retention.builds_keep, 50);
  EXPECT_EQ(c.retention.images_keep, 20);
  EXPECT_TRUE(c.retention.daily);
}

TEST(Config, RetentionReadsEveryKeyAndTakesZero) {
  const Config c =
      Parse("retention: { builds_days: 0, builds_keep: 3, images_keep: 0, daily: false }\n");
  EXPECT_EQ(c.retention.builds_days, 0);
  EXPECT_EQ(c.retention.builds_keep, 3);
  EXPECT_EQ(c.retention.images_keep, 0);
  EXPECT_FALSE(c.retention.daily);
}

TEST(Config, RetentionErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("retention:\n  builds_days: -1\n"),
            "hephy.yaml:2: retention.builds_days: expected 0 (age keeps no build) or a positive "
            "integer");
  EXPECT_EQ(ErrorOf("retention:\n  images_keep: many\n"),
            "hephy.yaml:2: retention.images_keep: expected 0 (images are never pruned) or a "
            "positive integer");
  EXPECT_NE(ErrorOf("retention:\n  keep: 3\n").find("retention.keep"), std::string::npos);
  EXPECT_NE(ErrorOf("retention:\n  daily: sometimes\n").find("retention.daily"), std::string::npos);
}

}  // namespace
}  // namespace hephy
