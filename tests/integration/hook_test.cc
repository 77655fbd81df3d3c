// The pre-receive hook and hephyd's hook service: which pushes build, which
// are refused, and that the hook fails closed.
#include <gtest/gtest.h>

#include "test_daemon.h"

namespace hephy {
namespace {

class HookTest : public ::testing::Test {
 protected:
  void Start(const std::string& config = "") {
    daemon_ = std::make_unique<TestDaemon>(config);
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    CommitFile(src_, "README", "no Dockerfile here\n", "readme");
  }

  RunResult Push(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"push"};
    argv.insert(argv.end(), args.begin(), args.end());
    return daemon_->Git(alice_, argv, src_);
  }

  bool StoredRefExists(const std::string& ref) {
    SpawnOptions options;
    options.argv = {"git", "--git-dir", daemon_->RepoPath("web").string(), "rev-parse", "--verify",
                    "-q",  ref};
    return hephy::Run(options).exit_code == 0;
  }

  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

TEST_F(HookTest, BuildBranchWithoutDockerfileIsRefused) {
  Start();
  const RunResult r = Push({daemon_->Url("web.git"), "main"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nothing to build on main ("), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("there is no Dockerfile at the repository's root"), std::string::npos);
  EXPECT_NE(r.err.find("! [remote rejected] main -> main (pre-receive hook declined)"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(StoredRefExists("refs/heads/main"));

  CommitFile(src_, "Dockerfile", "FROM scratch\n", "add Dockerfile");
  const RunResult fixed = Push({daemon_->Url("web.git"), "main"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_TRUE(StoredRefExists("refs/heads/main"));
}

TEST_F(HookTest, OtherBranchesTagsAndDeletionsAreAcceptedWithoutABuild) {
  Start();
  RunResult r = Push({daemon_->Url("web.git"), "main:feature"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remote: hephy: feature is not a build branch (builder.branches); accepted "
                       "without a build"),
            std::string::npos)
      << r.err;

  GitOk(src_, {"tag", "v1"});
  r = Push({daemon_->Url("web.git"), "v1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(StoredRefExists("refs/tags/v1"));

  r = Push({daemon_->Url("web.git"), ":feature"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(StoredRefExists("refs/heads/feature"));
}

TEST_F(HookTest, BuildBranchesComeFromTheConfig) {
  Start("builder:\n  branches: [release]\n");
  RunResult r = Push({daemon_->Url("web.git"), "main:release"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nothing to build on release"), std::string::npos) << r.err;
  // New repositories start on the first build branch...
  EXPECT_EQ(GitOk(daemon_->RepoPath("web"), {"symbolic-ref", "HEAD"}), "refs/heads/release\n");
  r = Push({daemon_->Url("web.git"), "main"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // ...until an accepted push leaves it on a branch that does not exist.
  EXPECT_EQ(GitOk(daemon_->RepoPath("web"), {"symbolic-ref", "HEAD"}), "refs/heads/main\n");
}

TEST_F(HookTest, PushOptionsAreAccepted) {
  Start();
  CommitFile(src_, "Dockerfile", "FROM scratch\n", "add Dockerfile");
  const RunResult r = Push({"-o", "rebuild=all", daemon_->Url("web.git"), "main"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(daemon_->WaitForLog("app=web user=alice refs=1 accepted")) << daemon_->Log();
}

TEST(HookProgram, FailsClosedWhenHephydIsUnreachable) {
  TestDir dir;
  SpawnOptions options;
  options.argv = {HEPHY_HOOK_PATH};
  options.env =
      std::vector<std::string>{"HEPHY_HOOK_SOCKET=" + (dir.path() / "none.sock").string()};
  const RunResult r =
      hephy::Run(options, std::string(40, '0') + " " + std::string(40, '1') + " refs/heads/main\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephy: cannot reach hephyd at " + (dir.path() / "none.sock").string() +
                       ": No such file or directory; push refused\n");

  options.env = std::vector<std::string>{};
  EXPECT_EQ(hephy::Run(options).err,
            "hephy: HEPHY_HOOK_SOCKET is not set (not run by hephyd?); push refused\n");
}

}  // namespace
}  // namespace hephy
