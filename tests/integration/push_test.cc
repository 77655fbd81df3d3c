// Pushing, fetching and cloning through hephyd with the real git and ssh.
#include <gtest/gtest.h>

#include "test_daemon.h"

namespace hephy {
namespace {

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = daemon_.AddUser("alice");
    daemon_.Start();
    src_ = daemon_.dir() / "src";
    MakeAppRepo(src_);
    CommitFile(src_, "README", "hello\n", "first");
    CommitFile(src_, "bin/run", "#!/bin/sh\necho run\n", "second");
    GitOk(src_, {"update-index", "--chmod=+x", "bin/run"});
    GitOk(src_, {"commit", "-q", "-m", "make run executable"});
  }

  RunResult Push(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"push", daemon_.Url("myapp.git"), "main"};
    args.insert(args.end(), extra.begin(), extra.end());
    return daemon_.Git(alice_, args, src_);
  }

  std::string StoredHead() { return GitOk(daemon_.RepoPath("myapp"), {"rev-parse", "main"}); }

  TestDaemon daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

TEST_F(PushTest, FirstPushCreatesAppAndRepository) {
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_.Log();
  EXPECT_NE(r.err.find("* [new branch]      main -> main"), std::string::npos) << r.err;
  EXPECT_EQ(StoredHead(), GitOk(src_, {"rev-parse", "main"}));

  const auto apps = daemon_.Cli({"apps", "list"});
  EXPECT_NE(apps.out.find("myapp  alice"), std::string::npos) << apps.out;
  // The repository is hephyd's: fsck on receive, and hephy-hook as pre-receive.
  const auto repo = daemon_.RepoPath("myapp");
  EXPECT_EQ(GitOk(repo, {"config", "receive.fsckObjects"}), "true\n");
  EXPECT_EQ(std::filesystem::read_symlink(repo / "hooks" / "pre-receive").filename(), "hephy-hook");
  EXPECT_EQ(GitOk(repo, {"symbolic-ref", "HEAD"}), "refs/heads/main\n");
}

TEST_F(PushTest, FastForwardForcePushCloneAndFsck) {
  ASSERT_EQ(Push().exit_code, 0);
  CommitFile(src_, "src/app.c", "int main() { return 0; }\n", "third");
  RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(StoredHead(), GitOk(src_, {"rev-parse", "main"}));

  // Rewrite history: a plain push is refused by git, a forced one lands.
  GitOk(src_, {"reset", "-q", "--hard", "HEAD~1"});
  CommitFile(src_, "REWRITTEN", "new history\n", "rewritten");
  EXPECT_NE(Push().exit_code, 0);
  r = Push({"--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("(forced update)"), std::string::npos) << r.err;
  EXPECT_EQ(StoredHead(), GitOk(src_, {"rev-parse", "main"}));

  const auto clone = daemon_.dir() / "clone";
  r = daemon_.Git(alice_, {"clone", "-q", daemon_.Url("myapp.git"), clone.string()}, daemon_.dir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(GitOk(clone, {"rev-parse", "HEAD^{tree}"}), GitOk(src_, {"rev-parse", "HEAD^{tree}"}));
  EXPECT_EQ(GitOk(clone, {"ls-files", "-s", "bin/run"}).substr(0, 6), "100755");
  GitOk(daemon_.RepoPath("myapp"), {"fsck", "--strict", "--no-progress"});
}

TEST_F(PushTest, FetchSeesNewCommits) {
  ASSERT_EQ(Push().exit_code, 0);
  const auto clone = daemon_.dir() / "clone";
  ASSERT_EQ(
      daemon_.Git(alice_, {"clone", "-q", daemon_.Url("myapp"), clone.string()}, daemon_.dir())
          .exit_code,
      0);
  CommitFile(src_, "more", "more\n", "more");
  ASSERT_EQ(Push().exit_code, 0);
  const RunResult r = daemon_.Git(alice_, {"pull", "-q", "--ff-only"}, clone);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(GitOk(clone, {"rev-parse", "HEAD"}), GitOk(src_, {"rev-parse", "HEAD"}));
}

TEST_F(PushTest, ProtocolVersionTwoIsPassedThrough) {
  ASSERT_EQ(Push().exit_code, 0);
  const auto clone = daemon_.dir() / "clone";
  const RunResult r = daemon_.Git(
      alice_, {"-c", "protocol.version=2", "clone", "-q", daemon_.Url("myapp"), clone.string()},
      daemon_.dir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(GitOk(clone, {"rev-parse", "HEAD"}), GitOk(src_, {"rev-parse", "HEAD"}));
}

TEST_F(PushTest, LargePushArrivesIntact) {
  // Tens of MiB of incompressible data: git's stdin fills up many times, so
  // bytes wait in hephyd and in libssh while the window holds the client back.
  std::string blob(32 * 1024 * 1024, '\0');
  uint64_t x = 88172645463325252ull;
  for (auto& c : blob) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  CommitFile(src_, "assets/blob.bin", blob, "big");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(GitOk(daemon_.RepoPath("myapp"), {"rev-parse", "main:assets/blob.bin"}),
            GitOk(src_, {"rev-parse", "main:assets/blob.bin"}));
  GitOk(daemon_.RepoPath("myapp"), {"fsck", "--no-progress"});
  EXPECT_TRUE(daemon_.WaitForLog("app=myapp command=\"git-receive-pack '/myapp.git'\" in=32MiB"))
      << daemon_.Log();
}

TEST_F(PushTest, EachConnectionIsLoggedWithUserKeyAppAndResult) {
  ASSERT_EQ(Push().exit_code, 0);
  EXPECT_TRUE(daemon_.WaitForLog(" user=alice key=SHA256:")) << daemon_.Log();
  EXPECT_TRUE(daemon_.WaitForLog(" app=myapp command=\"git-receive-pack '/myapp.git'\""))
      << daemon_.Log();
  EXPECT_TRUE(daemon_.WaitForLog("s exit 0")) << daemon_.Log();
}

}  // namespace
}  // namespace hephy
