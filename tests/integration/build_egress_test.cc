// What buildah fetches itself for a Dockerfile (ADD's URLs, FROM images)
// goes where upstreams.allow_hosts allows, as a hostile pusher would try it:
// a loopback origin server that must never be reached, spelt every way.
// Real hephyd, ssh, git, buildah and docker-registry; every connection goes
// to an address of this machine.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

#include "loopback_http_server.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

namespace http = boost::beast::http;

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class BuildEgressTest : public ::testing::Test {
 protected:
  // A hephyd with `upstreams` (lines of the upstreams mapping) and a
  // repository to push.
  void Start(const std::string& upstreams = "") {
    daemon_ =
        std::make_unique<TestDaemon>("builder:\n  platforms: [linux/amd64]\n" +
                                         (upstreams.empty() ? "" : "upstreams:\n" + upstreams),
                                     registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  RunResult Push(const std::string& dockerfile) {
    CommitFile(src_, "Dockerfile", dockerfile, "app");
    return daemon_->Git(alice_, {"push", daemon_->Url("app.git"), "main"}, src_);
  }

  std::string Port() const { return std::to_string(origin_.port()); }

  // What a metadata service would hand out: whoever reaches it says how.
  LoopbackHttpServer origin_{[this] {
    return [this](const LoopbackHttpServer::Request& request) {
      last_connection_ = std::string(request[http::field::connection]);
      LoopbackHttpServer::Response response(http::status::ok, 11);
      response.body() = "secret\n";
      return std::optional(response);
    };
  }};
  std::string last_connection_;
  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

constexpr char kOnlyPublic[] =
    "(loopback); hephyd fetches only public addresses unless upstreams.allow_hosts lists the host";

TEST_F(BuildEgressTest, AnAddUrlThatResolvesToThisMachineFailsTheBuildUnreached) {
  Start();
  for (const std::string host : {"127.1", "0177.0.0.1", "2130706433"}) {
    const RunResult r = Push("FROM scratch\nADD http://" + host + ":" + Port() + "/latest /m\n");
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Has(r.err, "hephyd did not let the build fetch http://" + host + ":" + Port() +
                               ": " + host + " resolves to 127.0.0.1 " + kOnlyPublic))
        << r.err;
  }
  EXPECT_EQ(origin_.connections(), 0);
}

TEST_F(BuildEgressTest, LoopbackAddressesAndLocalhostAreRefusedBeforeTheBuild) {
  Start();
  // Go programs connect to these without the proxy: the Dockerfile is
  // checked for them, each line named at once.
  const RunResult r = Push("ARG METADATA=127.0.0.1:" + Port() +
                           "\n"
                           "FROM scratch\n"
                           "ADD http://localhost:" +
                           Port() + "/a /a\n" + "ADD http://${METADATA}/b /b\n" +
                           "ADD [\"http://[::ffff:127.0.0.1]:" + Port() + "/c\", \"/c\"]\n" +
                           "COPY --from=127.0.0.1:" + Port() + "/other/app:v1 /x /x\n");
  EXPECT_NE(r.exit_code, 0) << r.err;
  const std::string port = Port();
  for (const std::string& line :
       {"Dockerfile:3: ADD http://localhost:" + port + "/a: localhost resolves to 127.0.0.1 ",
        "Dockerfile:4: ADD http://127.0.0.1:" + port + "/b: 127.0.0.1 resolves to 127.0.0.1 ",
        "Dockerfile:5: ADD http://[::ffff:127.0.0.1]:" + port +
            "/c: ::ffff:127.0.0.1 resolves to ::ffff:127.0.0.1 ",
        "Dockerfile:6: COPY --from 127.0.0.1:" + port +
            "/other/app:v1: 127.0.0.1 resolves to 127.0.0.1 "}) {
    EXPECT_TRUE(Has(r.err, line + kOnlyPublic)) << line << "\n" << r.err;
  }
  EXPECT_FALSE(Has(r.err, "building")) << r.err;
  EXPECT_EQ(origin_.connections(), 0);
}

TEST_F(BuildEgressTest, AllowHostsLetsTheBuildFetchThroughHephydsProxy) {
  Start("  allow_hosts: [127.0.0.0/8]\n");
  const RunResult r = Push("FROM scratch\nADD http://127.1:" + Port() + "/latest /m\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(origin_.connections(), 1);
  // The proxy's mark: one request per connection.
  EXPECT_EQ(last_connection_, "close");
}

}  // namespace
}  // namespace hephy
