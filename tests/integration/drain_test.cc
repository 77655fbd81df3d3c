// Graceful restarts of a real `hephyd serve`: on SIGTERM a push whose build
// is running finishes while new pushes are refused and /healthz says
// draining; serve.drain_timeout and a second signal cancel what remains.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "build_gate.h"
#include "net/http_connection.h"
#include "output_watcher.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;

// A statically linked busybox from Debian's busybox-static (see build_test.cc).
const char* kBusybox = "/bin/busybox";

class DrainTest : public ::testing::Test {
 protected:
  void Start(const std::string& serve_config) {
    // network host: the RUN step waits at a BuildGate on the host's loopback.
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  platforms: [linux/amd64]\n  network: host\nserve:\n" + serve_config,
        registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    std::filesystem::create_directories(src_ / "amd64/bin");
    std::filesystem::copy_file(kBusybox, src_ / "amd64/bin/busybox");
    GitOk(src_, {"add", "amd64"});
    CommitFile(src_, "Dockerfile",
               "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n"
               "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo waiting; /bin/busybox wget -q -O - " +
                   gate_.Url() + "; echo through the gate\"]\n",
               "a build that waits");
  }

  // A push to APP whose build has reached the gate.
  Child PushHeldAtTheGate(const std::string& app, std::unique_ptr<OutputWatcher>& output) {
    Child git =
        daemon_->GitInBackground(alice_, {"push", daemon_->Url(app + ".git"), "main"}, src_);
    output = std::make_unique<OutputWatcher>(git.stderr_fd().get());
    EXPECT_TRUE(gate_.WaitUntilReached()) << output->Text();
    return git;
  }

  HttpResponse Health() {
    HttpConnection connection({"127.0.0.1", daemon_->http_port()}, std::chrono::seconds(30),
                              1 << 20);
    return connection.Send({"GET", "/healthz", {}, ""});
  }

  std::string RefOf(const std::string& app) {
    const RunResult r = hephy::Run({.argv = {"git", "--git-dir", daemon_->RepoPath(app).string(),
                                             "rev-parse", "--verify", "-q", "refs/heads/main"}});
    return r.exit_code == 0 ? r.out : "";
  }

  TestRegistry registry_;
  BuildGate gate_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

TEST_F(DrainTest, APushInProgressFinishesWhileNewOnesAreRefused) {
  Start("  drain_timeout: 10m\n");
  std::unique_ptr<OutputWatcher> pushed;
  Child git = PushHeldAtTheGate("web", pushed);

  daemon_->Signal(SIGTERM);
  ASSERT_TRUE(daemon_->WaitForLog("received SIGTERM, draining: 1 push(es) or rebuild(s)"))
      << daemon_->Log();

  // A load balancer is told to send no more.
  const HttpResponse health = Health();
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_EQ(json::parse(health.body)["status"], "draining") << health.body;

  // A new push, and a rebuild, are refused with the reason, and write nothing.
  const RunResult refused = daemon_->Git(alice_, {"push", daemon_->Url("other.git"), "main"}, src_);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("hephyd is restarting; try again in a moment"), std::string::npos)
      << refused.err;
  EXPECT_FALSE(std::filesystem::exists(daemon_->RepoPath("other")));
  const RunResult rebuild = daemon_->Ssh(alice_, "rebuild web");
  EXPECT_NE(rebuild.exit_code, 0);
  EXPECT_NE((rebuild.out + rebuild.err).find("hephyd is restarting; try again in a moment"),
            std::string::npos)
      << rebuild.out << rebuild.err;

  // The push in progress builds to the end and lands; then hephyd stops.
  gate_.Open();
  pushed->Join();
  EXPECT_EQ(git.Wait(), 0) << pushed->Text();
  EXPECT_NE(pushed->Text().find("through the gate"), std::string::npos) << pushed->Text();
  EXPECT_EQ(daemon_->Wait(), 0) << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("drained: every push and rebuild in progress finished"),
            std::string::npos)
      << daemon_->Log();
  EXPECT_EQ(RefOf("web"), GitOk(src_, {"rev-parse", "HEAD"}));
  const RunResult builds = daemon_->Cli({"builds", "list", "--app", "web"});
  EXPECT_NE(builds.out.find("succeeded"), std::string::npos) << builds.out;
}

TEST_F(DrainTest, TheDrainTimeoutCancelsWhatRemains) {
  Start("  drain_timeout: 2s\n");
  std::unique_ptr<OutputWatcher> pushed;
  Child git = PushHeldAtTheGate("web", pushed);

  daemon_->Signal(SIGTERM);
  EXPECT_EQ(daemon_->Wait(), 0) << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("serve.drain_timeout (2s) is over; cancelling 1 push(es)"),
            std::string::npos)
      << daemon_->Log();
  pushed->Join();
  EXPECT_NE(git.Wait(), 0) << pushed->Text();
  EXPECT_EQ(RefOf("web"), "");
}

TEST_F(DrainTest, ASecondSignalStopsAtOnce) {
  Start("  drain_timeout: 10m\n");
  std::unique_ptr<OutputWatcher> pushed;
  Child git = PushHeldAtTheGate("web", pushed);

  daemon_->Signal(SIGTERM);
  ASSERT_TRUE(daemon_->WaitForLog("received SIGTERM, draining")) << daemon_->Log();
  daemon_->Signal(SIGINT);
  EXPECT_EQ(daemon_->Wait(), 0) << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("received SIGINT while draining; cancelling 1 push(es)"),
            std::string::npos)
      << daemon_->Log();
  pushed->Join();
  EXPECT_NE(git.Wait(), 0) << pushed->Text();
  EXPECT_EQ(RefOf("web"), "");
}

TEST_F(DrainTest, WithNothingInProgressItStopsAtOnce) {
  Start("  drain_timeout: 10m\n");
  daemon_->Signal(SIGTERM);
  EXPECT_EQ(daemon_->Wait(), 0) << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("received SIGTERM, stopping"), std::string::npos) << daemon_->Log();
}

}  // namespace
}  // namespace hephy
