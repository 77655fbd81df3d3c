// Pushing to a registry over TLS whose certificate a private CA signed, end
// to end: real git over real ssh to a real hephyd, real buildah for every
// platform, a real docker-registry serving HTTPS with a certificate the test
// made with the openssl command.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "build/image_tags.h"
#include "hephy/registry_client.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;

class RegistryTlsTest : public ::testing::Test {
 protected:
  // hephyd pushing to registry_ over TLS, trusting `ca_file` (none if empty).
  void Start(const std::filesystem::path& ca_file, const std::string& extra_config = "") {
    std::string registry_config = "  insecure: false\n";
    if (!ca_file.empty()) registry_config += "  ca_file: \"" + ca_file.string() + "\"\n";
    daemon_ = std::make_unique<TestDaemon>(extra_config, registry_.url(), registry_config);
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    // COPY only, so it builds for every platform without qemu.
    std::ofstream(src_ / "hello.txt") << "hello over tls\n";
    GitOk(src_, {"add", "hello.txt"});
    CommitFile(src_, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello");
    commit_ = GitOk(src_, {"rev-parse", "HEAD"}).substr(0, 40);
  }

  RunResult Push() { return daemon_->Git(alice_, {"push", daemon_->Url("web.git"), "main"}, src_); }

  TlsTestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
  std::string commit_;
};

TEST_F(RegistryTlsTest, PushBuildsEveryPlatformIntoARegistryAPrivateCaCertified) {
  Start(registry_.ca_file());
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::string tag = TagsFor("web", commit_, std::chrono::system_clock::now(), {}).default_tag;
  RegistryClient registry(registry_.url(), false, registry_.ca_file());
  const auto index = registry.GetManifest("web", tag);
  EXPECT_EQ(index.media_type, kOciIndex);
  EXPECT_EQ(registry.GetManifest("web", "web-latest").digest, index.digest);
  const json body = json::parse(index.body);
  std::set<std::string> architectures;
  for (const auto& child : body["manifests"]) {
    const auto manifest = registry.GetManifest("web", child["digest"]);
    const json config =
        json::parse(registry.GetBlob("web", json::parse(manifest.body)["config"]["digest"]));
    EXPECT_EQ(config["architecture"], child["platform"]["architecture"]);
    architectures.insert(child["platform"]["architecture"].get<std::string>());
  }
  EXPECT_EQ(architectures, (std::set<std::string>{"amd64", "arm64"}));
  // The copy of the CA given to buildah went with the build's scratch space.
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->data_dir() / "builds"));
}

TEST_F(RegistryTlsTest, PushToARegistryOfAnUntrustedCaIsRejected) {
  Start({}, "builder:\n  platforms: [linux/amd64]\n");
  const RunResult r = Push();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("! [remote rejected] main -> main (pre-receive hook declined)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("certificate signed by unknown authority"), std::string::npos) << r.err;
  RegistryClient registry(registry_.url(), false, registry_.ca_file());
  EXPECT_EQ(registry.ListTags("web"), std::vector<std::string>{});
}

TEST(RegistryTls, ServeWarnsLoudlyAboutPlainHttpToARegistryBeyondLoopback) {
  // An address of TEST-NET-1 (RFC 5737): nothing is sent to it.
  TestDaemon daemon("", "192.0.2.10:5000", "  insecure: true\n");
  daemon.Start();
  EXPECT_TRUE(
      daemon.WaitForLog("registry.insecure is true for 192.0.2.10:5000, which is not a "
                        "loopback address"))
      << daemon.Log();
}

TEST(RegistryTls, ServeRefusesTheEmbeddedRegistryWithTls) {
  TestDaemon daemon("", "", "  insecure: false\n");
  const RunResult r = daemon.Cli({"serve"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("registry.insecure: false needs a registry that speaks TLS"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace hephy
