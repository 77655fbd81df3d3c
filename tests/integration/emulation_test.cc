// RUN steps for platforms other than this machine's, as a local hephyd runs
// them: through qemu's binfmt_misc handlers (scripts/enable-emulation), said
// in the build's header and /healthz; natively for a stage written
// FROM --platform=$BUILDPLATFORM; refused before anything builds where the
// host cannot run them at all. Real hephyd, ssh, git, buildah and
// docker-registry, with Debian's arm64 busybox (scripts/test-fixtures).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "foreign_busybox.h"
#include "hephy/registry_client.h"
#include "net/http_connection.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class EmulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (HostArchitecture() != "amd64") GTEST_SKIP() << "the tests emulate arm64 on amd64";
    if (const std::string why = WhyArm64CannotRun(); !why.empty()) GTEST_SKIP() << why;
  }

  void Start(const std::string& platforms) {
    daemon_ = std::make_unique<TestDaemon>("builder:\n  platforms: [" + platforms + "]\n",
                                           registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  // amd64/bin/busybox and arm64/bin/busybox: each platform's own.
  void AddBusyboxes() {
    std::filesystem::create_directories(src_ / "amd64/bin");
    std::filesystem::create_directories(src_ / "arm64/bin");
    std::filesystem::copy_file("/bin/busybox", src_ / "amd64/bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(Arm64Busybox(), src_ / "arm64/bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
    GitOk(src_, {"add", "amd64", "arm64"});
  }

  RunResult Push(const std::string& dockerfile, const std::string& app) {
    CommitFile(src_, "Dockerfile", dockerfile, app);
    return daemon_->Git(alice_, {"push", "-f", daemon_->Url(app + ".git"), "main"}, src_);
  }

  json Healthz() {
    HttpConnection connection({"127.0.0.1", daemon_->http_port()}, std::chrono::seconds(10),
                              1024 * 1024);
    const HttpResponse r = connection.Send({"GET", "/healthz", {}, ""});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }

  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

constexpr char kRunUname[] =
    "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n"
    "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo machine=$(/bin/busybox uname -m)\"]\n";

TEST_F(EmulationTest, AnArm64RunStepRunsThroughQemuAndSaysSo) {
  Start("linux/amd64, linux/arm64");
  AddBusyboxes();
  const RunResult r = Push(kRunUname, "web");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.err, "for linux/amd64, linux/arm64 (emulated)")) << r.err;
  EXPECT_TRUE(Has(r.err, "remote: [linux/arm64] machine=aarch64")) << r.err;
  EXPECT_TRUE(Has(r.err, "remote: [linux/amd64] machine=x86_64")) << r.err;

  RegistryClient registry(registry_.url(), true);
  const json index = json::parse(registry.GetManifest("web", "web-latest").body);
  std::set<std::string> arches;
  for (const auto& child : index["manifests"]) {
    const auto manifest = registry.GetManifest("web", child["digest"]);
    const json config =
        json::parse(registry.GetBlob("web", json::parse(manifest.body)["config"]["digest"]));
    arches.insert(config["architecture"].get<std::string>());
  }
  EXPECT_EQ(arches, (std::set<std::string>{"amd64", "arm64"}));

  const json health = Healthz();
  EXPECT_EQ(health["platforms"], json({{"linux/amd64", "native"}, {"linux/arm64", "emulated"}}))
      << health.dump();
}

TEST_F(EmulationTest, ACrossBuildingStageRunsNativelyForEveryTarget) {
  Start("linux/amd64, linux/arm64");
  AddBusyboxes();
  // A multi-arch base whose arm64 image would print aarch64.
  ASSERT_EQ(Push("FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n", "base").exit_code, 0);
  const RunResult r = Push("FROM --platform=$BUILDPLATFORM " + registry_.url() +
                               "/base:base-latest AS build\n"
                               "ARG TARGETARCH\n"
                               "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo built-on=$(/bin/"
                               "busybox uname -m) for=$TARGETARCH > /out.txt\"]\n"
                               "FROM build AS check\n"
                               "RUN [\"/bin/busybox\", \"cat\", \"/out.txt\"]\n"
                               "FROM scratch\n"
                               "COPY --from=check /out.txt /out.txt\n",
                           "cross");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Each target's file names it, written on this machine: nothing ran
  // emulated, and the header says so.
  EXPECT_TRUE(Has(r.err, "remote: [linux/arm64] built-on=x86_64 for=arm64")) << r.err;
  EXPECT_TRUE(Has(r.err, "remote: [linux/amd64] built-on=x86_64 for=amd64")) << r.err;
  EXPECT_FALSE(Has(r.err, "aarch64")) << r.err;
  EXPECT_FALSE(Has(r.err, "(emulated)")) << r.err;
}

TEST_F(EmulationTest, APlatformThisHostCannotRunIsRefusedBeforeBuilding) {
  // s390x's handler is switched off for the test (no other test builds
  // s390x), or there is none.
  const std::filesystem::path handler = "/proc/sys/fs/binfmt_misc/qemu-s390x";
  struct Reenable {
    std::filesystem::path handler;
    bool was_enabled;
    ~Reenable() {
      if (was_enabled) std::ofstream(handler) << "1";
    }
  } reenable{handler, HostPlatforms::Detect().RunOf("linux/s390x") == PlatformRun::kEmulated};
  if (reenable.was_enabled) std::ofstream(handler) << "0";
  ASSERT_EQ(HostPlatforms::Detect().RunOf("linux/s390x"), PlatformRun::kUnavailable);

  Start("linux/amd64, linux/s390x");
  AddBusyboxes();
  const RunResult r = Push(kRunUname, "web");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Has(r.err,
                  "Dockerfile:4: RUN steps for linux/s390x, which this amd64 host cannot "
                  "run (" +
                      HostPlatforms::Detect().WhyNot("linux/s390x") +
                      "): install qemu-user-static and binfmt-support and register their "
                      "handlers (scripts/enable-emulation), or build linux/s390x with "
                      "builder.executor kaniko-kubernetes on a node of that architecture"))
      << r.err;
  EXPECT_FALSE(Has(r.err, "hephy: building")) << r.err;
  EXPECT_EQ(daemon_->Cli({"builds", "list"}).out.find("web"), std::string::npos);

  // Without RUN steps nothing runs: s390x builds all the same.
  std::ofstream(src_ / "hello.txt") << "hello\n";
  GitOk(src_, {"add", "hello.txt"});
  const RunResult copy = Push("FROM scratch\nCOPY hello.txt /hello.txt\n", "web");
  EXPECT_EQ(copy.exit_code, 0) << copy.err;
}

}  // namespace
}  // namespace hephy
