// The build sandbox, tried as a hostile pusher would: a RUN step (busybox
// from busybox-static) that reaches for listeners on the host's loopback,
// hephyd's own ports, the registry, the build bridge's host address and a
// file beside hephyd's data directory. Real hephyd, ssh, git, buildah (runc)
// and docker-registry; every connection goes to an address of this machine.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "executors/build_network.h"
#include "executors/job_cgroup.h"
#include "output_watcher.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

const char* kBusybox = "/bin/busybox";

// A TCP listener that never accepts: a connection that reaches it waits in
// its backlog, where Reached() finds it.
class ProbeListener {
 public:
  // `freebind`: the address need not exist yet (the build bridge appears
  // with the first isolated build).
  ProbeListener(int family, const std::string& address, bool freebind = false)
      : fd_(socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0)), address_(address) {
    const int one = 1;
    if (freebind) setsockopt(fd_, SOL_IP, IP_FREEBIND, &one, sizeof one);
    sockaddr_storage storage{};
    socklen_t size = 0;
    if (family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = AF_INET;
      inet_pton(AF_INET, address.c_str(), &in->sin_addr);
      size = sizeof *in;
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr);
      size = sizeof *in6;
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&storage), size) != 0 || listen(fd_, 16) != 0) {
      throw std::runtime_error("cannot listen on " + address + ": " + strerror(errno));
    }
    getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &size);
    port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                    : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  ~ProbeListener() { close(fd_); }

  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }

  // Whether any connection arrived.
  bool Reached() const {
    const int fd = accept(fd_, nullptr, nullptr);
    if (fd < 0) return false;
    close(fd);
    return true;
  }

 private:
  int fd_;
  std::string address_;
  uint16_t port_ = 0;
};

// The RUN step's script: each attempt prints one line, "probe: REACHED ..."
// or "probe: refused ...", "probe: READ ..." or "probe: unreadable ...".
std::string ProbeScript(const std::vector<std::pair<std::string, uint16_t>>& targets,
                        const std::filesystem::path& secret) {
  std::string script =
      "bb=/bin/busybox\n"
      // nc -e runs true once connected, which ends it: the listeners never
      // accept.
      "$bb ln -s busybox /bin/true\n"
      "try() {\n"
      "  if $bb nc -w 3 \"$1\" \"$2\" -e /bin/true >/dev/null 2>&1; then\n"
      "    echo \"probe: REACHED $1 $2\"\n"
      "  else\n"
      "    echo \"probe: refused $1 $2\"\n"
      "  fi\n"
      "}\n"
      "read_file() {\n"
      "  if $bb cat \"$1\" >/dev/null 2>&1; then echo \"probe: READ $1\"; else echo \"probe: "
      "unreadable $1\"; fi\n"
      "}\n";
  for (const auto& [host, port] : targets) {
    script += "try " + host + " " + std::to_string(port) + "\n";
  }
  const std::string path = secret.string();
  script += "read_file " + path + "\n";
  script += "for root in /proc/[0-9]*/root; do read_file \"$root" + path + "\"; done\n";
  // A chroot with the working directory left outside, then up and out.
  script +=
      "$bb mkdir -p /jail/bin && $bb cp $bb /jail/bin/busybox\n"
      "cd / && $bb chroot /jail /bin/busybox sh -c 'cd ../../../..; /bin/busybox cat ." +
      path +
      " >/dev/null 2>&1' && echo 'probe: READ through chroot' || echo 'probe: unreadable through "
      "chroot'\n";
  script += "echo \"probe: processes $($bb ls -d /proc/[0-9]* | $bb wc -l)\"\n";
  script +=
      "echo \"probe: interfaces $($bb tail -n +3 /proc/net/dev | $bb cut -d: -f1 | $bb tr "
      "-d ' ' | $bb tr '\\n' ' ')\"\n";
  return script;
}

class SandboxTest : public ::testing::Test {
 protected:
  void Start(const std::string& builder = "") {
    daemon_ = std::make_unique<TestDaemon>("builder:\n  platforms: [linux/amd64]\n" + builder,
                                           registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    // What no build may read: a file beside hephyd's data directory.
    secret_ = daemon_->dir() / "secret.txt";
    std::ofstream(secret_) << "not for pushers\n";
  }

  // A unit "probe" whose RUN step runs ProbeScript, with `unit_config` as
  // its build-config.yaml.
  RunResult PushProbe(const std::vector<std::pair<std::string, uint16_t>>& targets,
                      const std::string& unit_config = "platforms: [linux/amd64]\n") {
    std::filesystem::create_directories(src_ / "probe/bin");
    std::filesystem::copy_file(kBusybox, src_ / "probe/bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(src_ / "probe/probe.sh") << ProbeScript(targets, secret_);
    std::ofstream(src_ / "probe/build-config.yaml") << unit_config;
    GitOk(src_, {"add", "probe"});
    CommitFile(src_, "probe/Dockerfile",
               "FROM scratch\nCOPY bin/ /bin/\nCOPY probe.sh /probe.sh\n"
               "RUN [\"/bin/busybox\", \"sh\", \"/probe.sh\"]\n",
               "probe");
    return daemon_->Git(alice_, {"push", daemon_->Url("probe.git"), "main"}, src_);
  }

  // hephyd's SSH and HTTP ports and the registry's, at `host`.
  std::vector<std::pair<std::string, uint16_t>> DaemonPorts(const std::string& host) const {
    const std::string& registry = registry_.url();
    return {{host, daemon_->port()},
            {host, daemon_->http_port()},
            {host, static_cast<uint16_t>(std::stoi(registry.substr(registry.rfind(':') + 1)))}};
  }

  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
  std::filesystem::path secret_;
};

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_F(SandboxTest, IsolatedRunStepReachesNoHostAddressAndNoFileOfTheHost) {
  Start();
  ProbeListener loopback(AF_INET, "127.0.0.1");
  ProbeListener loopback6(AF_INET6, "::1");
  ProbeListener bridge(AF_INET, BuildNetwork::kGateway, true);
  std::vector<std::pair<std::string, uint16_t>> targets = {{loopback.address(), loopback.port()},
                                                           {loopback6.address(), loopback6.port()},
                                                           {bridge.address(), bridge.port()}};
  for (const std::string host : {"127.0.0.1", BuildNetwork::kGateway}) {
    for (const auto& target : DaemonPorts(host)) targets.push_back(target);
  }

  const RunResult r = PushProbe(targets);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [host, port] : targets) {
    EXPECT_TRUE(Has(r.err, "probe: refused " + host + " " + std::to_string(port))) << r.err;
  }
  EXPECT_FALSE(Has(r.err, "probe: REACHED")) << r.err;
  EXPECT_FALSE(Has(r.err, "(RUN steps")) << r.err;  // the default goes without saying
  EXPECT_FALSE(loopback.Reached());
  EXPECT_FALSE(loopback6.Reached());
  EXPECT_FALSE(bridge.Reached());

  EXPECT_TRUE(Has(r.err, "probe: unreadable " + secret_.string())) << r.err;
  EXPECT_TRUE(Has(r.err, "probe: unreadable through chroot")) << r.err;
  EXPECT_FALSE(Has(r.err, "probe: READ")) << r.err;
  // Its own PID namespace: the shell and what it runs, nothing of the host's.
  const auto processes = r.err.find("probe: processes ");
  ASSERT_NE(processes, std::string::npos) << r.err;
  EXPECT_LE(std::stoi(r.err.substr(processes + 17)), 5) << r.err;
  // The way out is there: an interface besides loopback.
  EXPECT_TRUE(Has(r.err, "probe: interfaces lo eth0")) << r.err;
}

TEST_F(SandboxTest, UnitWithNetworkNoneHasOnlyLoopback) {
  Start();
  ProbeListener loopback(AF_INET, "127.0.0.1");
  const RunResult r = PushProbe({{loopback.address(), loopback.port()}},
                                "platforms: [linux/amd64]\nnetwork: none\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.err, "for linux/amd64 (RUN steps without network)")) << r.err;
  EXPECT_TRUE(Has(r.err, "probe: interfaces lo")) << r.err;
  EXPECT_FALSE(Has(r.err, "eth0")) << r.err;
  EXPECT_TRUE(Has(r.err, "probe: refused 127.0.0.1 " + std::to_string(loopback.port()))) << r.err;
  EXPECT_FALSE(loopback.Reached());
}

TEST_F(SandboxTest, UnitCannotLoosenBuilderNetwork) {
  Start();
  const RunResult r = PushProbe({}, "network: host\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Has(r.err,
                  "probe/build-config.yaml: network: host is looser than builder.network "
                  "(isolated); a unit may only make it stricter"))
      << r.err;
}

TEST_F(SandboxTest, NetworkHostTrustsThePusherWithTheHostsLoopback) {
  Start("  network: host\n");
  ProbeListener loopback(AF_INET, "127.0.0.1");
  const RunResult r = PushProbe({{loopback.address(), loopback.port()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.err, "probe: REACHED 127.0.0.1 " + std::to_string(loopback.port()))) << r.err;
  EXPECT_TRUE(loopback.Reached());
  EXPECT_TRUE(Has(r.err, "for linux/amd64 (RUN steps on the host's network)")) << r.err;
}

// An app whose one RUN step runs `script` in busybox sh.
void CommitRunApp(const std::filesystem::path& src, const std::string& app,
                  const std::string& script) {
  std::filesystem::create_directories(src / app / "bin");
  std::filesystem::copy_file(kBusybox, src / app / "bin/busybox",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(src / app / "run.sh") << script;
  std::ofstream(src / app / "build-config.yaml") << "platforms: [linux/amd64]\n";
  GitOk(src, {"add", app});
  CommitFile(src, app + "/Dockerfile",
             "FROM scratch\nCOPY bin/ /bin/\nCOPY run.sh /run.sh\n"
             "RUN [\"/bin/busybox\", \"sh\", \"/run.sh\"]\n",
             app);
}

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string& problem = CgroupLimits::OfThisHost().Problem(); !problem.empty()) {
      GTEST_SKIP() << "builds run without limits here: " << problem;
    }
  }

  // A hephyd with `limits` (lines of builder.limits) and a repository per app.
  void Start(const std::string& limits) {
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  platforms: [linux/amd64]\n  limits:\n" + limits, registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
  }

  std::filesystem::path Repo(const std::string& app) {
    const auto dir = daemon_->dir() / app;
    MakeRepo(dir);
    return dir;
  }

  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
};

TEST_F(LimitsTest, AForkBombFailsItsOwnBuildWhileAnotherAppBuilds) {
  Start("    pids: 64\n");
  const auto bomb = Repo("bomb");
  CommitRunApp(bomb, "unit",
               "i=0; while [ $i -lt 200 ]; do /bin/busybox sleep 30 & i=$((i+1)); done\n");
  const auto calm = Repo("calm");
  CommitRunApp(calm, "unit", "/bin/busybox echo calm\n");

  Child bombing =
      daemon_->GitInBackground(alice_, {"push", daemon_->Url("bomb.git"), "main"}, bomb);
  OutputWatcher bombed(bombing.stderr_fd().get());
  const RunResult calm_push =
      daemon_->Git(alice_, {"push", daemon_->Url("calm.git"), "main"}, calm);
  bombed.Join();
  const std::string bomb_output = bombed.Text();
  EXPECT_NE(bombing.Wait(), 0) << bomb_output;
  EXPECT_TRUE(Has(bomb_output, "tried to run more than 64 processes at once (builder.limits.pids)"))
      << bomb_output;
  EXPECT_EQ(calm_push.exit_code, 0) << calm_push.err;
  EXPECT_TRUE(Has(calm_push.err, "calm")) << calm_push.err;
  // hephyd is still there for the next push.
  EXPECT_EQ(daemon_->Ssh(alice_, "apps list").exit_code, 0);
}

TEST_F(LimitsTest, AMemoryHogIsKilledAndTheBuildSaysWhy) {
  Start("    memory: 96m\n");
  const auto hog = Repo("hog");
  CommitRunApp(hog, "unit", "/bin/busybox dd if=/dev/zero of=/dev/null bs=256M count=1\n");
  const RunResult r = daemon_->Git(alice_, {"push", daemon_->Url("hog.git"), "main"}, hog);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Has(r.err,
                  "a RUN step used all of builder.limits.memory (96 MiB), where the kernel kills "
                  "what asks for more"))
      << r.err;
}

}  // namespace
}  // namespace hephy
