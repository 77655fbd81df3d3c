// What hephyd refuses over SSH, and that a refusal writes nothing.
#include <gtest/gtest.h>

#include "test_daemon.h"

namespace hephy {
namespace {

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = daemon_.AddUser("alice");
    daemon_.Start();
  }

  bool NothingCreated() {
    const auto repos = daemon_.data_dir() / "repos";
    return std::filesystem::is_empty(repos) &&
           daemon_.Cli({"apps", "list", "--json"}).out == "[]\n";
  }

  TestDaemon daemon_;
  TestKey alice_;
};

TEST_F(HostileTest, HostileRepositoryNamesAndCommandsAreRefused) {
  const std::pair<const char*, const char*> cases[] = {
      {"git-receive-pack '../x.git'", "invalid app name '../x'"},
      {"git-receive-pack '../../etc/passwd'", "invalid app name '../../etc/passwd'"},
      {"git-receive-pack '/srv/repos/x.git'", "invalid app name 'srv/repos/x'"},
      {"git-receive-pack '-oProxyCommand=touch /tmp/pwned'", "takes exactly one repository"},
      {"git-upload-pack --upload-pack=touch x", "takes exactly one repository"},
      {"git-receive-pack '-x'", "invalid app name '-x'"},
      {"git-receive-pack 'my app.git'", "takes exactly one repository"},
      {"git-receive-pack 'x.git'; touch /tmp/pwned", "takes exactly one repository"},
      {"git-receive-pack '$(touch /tmp/pwned).git'", "takes exactly one repository"},
      {"git-receive-pack '$(id).git'", "invalid app name '$(id)'"},
      {"git-receive-pack 'a|b.git'", "invalid app name 'a|b'"},
      {"git-receive-pack 'UPPER.git'", "invalid app name 'UPPER'"},
      {"git-upload-archive 'x.git'", "unknown command 'git-upload-archive'"},
      {"rm -rf /", "unknown command 'rm'"},
      {"sh -c id", "unknown command 'sh'"},
      {"scp -t /tmp", "unknown command 'scp'"},
  };
  for (const auto& [command, message] : cases) {
    const RunResult r = daemon_.Ssh(alice_, command);
    // Not git: hephyd's own command line, for which an unknown command is a
    // usage error.
    EXPECT_EQ(r.exit_code, std::string_view(command).starts_with("git") ? 1 : 2) << command;
    EXPECT_NE(r.err.find(message), std::string::npos) << command << " -> " << r.err;
    EXPECT_EQ(r.err.rfind("hephyd: ", 0), 0u) << r.err;
  }
  EXPECT_TRUE(NothingCreated());
  EXPECT_FALSE(std::filesystem::exists("/tmp/pwned"));
}

TEST_F(HostileTest, ShellIsRefusedWithAFriendlyMessage) {
  RunResult r = daemon_.Ssh(alice_, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Hi alice! You've authenticated, but hephyd does not provide shell access"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Push with: git push " + daemon_.Url("APP.git") + " main\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find("Commands: ssh -p " + std::to_string(daemon_.port()) + " git@127.0.0.1 help\n"),
      std::string::npos)
      << r.err;
  // As from a terminal: the pty request is let through so that the user
  // sees the message (OpenSSH ends at once when a forced pty is refused).
  r = daemon_.Ssh(alice_, "", {"-tt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE((r.out + r.err).find("does not provide shell access"), std::string::npos);
  EXPECT_TRUE(NothingCreated());
}

TEST_F(HostileTest, CommandsWithATerminalAreRefused) {
  const RunResult r = daemon_.Ssh(alice_, "git-receive-pack 'web.git'", {"-tt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE((r.out + r.err).find("hephyd: terminals are not supported"), std::string::npos)
      << r.out << r.err;
  EXPECT_TRUE(NothingCreated());
}

TEST_F(HostileTest, SftpSubsystemIsRefused) {
  const RunResult r = daemon_.Ssh(alice_, "sftp", {"-s"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: the sftp subsystem is not supported; use git\n");
  EXPECT_TRUE(NothingCreated());
}

TEST_F(HostileTest, AppOfAnotherUserIsNotTheirs) {
  const TestKey bob = daemon_.AddUser("bob");
  const TestKey root = daemon_.AddUser("root", /*admin=*/true);
  const auto src = daemon_.dir() / "src";
  MakeAppRepo(src);
  CommitFile(src, "f", "x\n", "c");
  ASSERT_EQ(daemon_.Git(alice_, {"push", daemon_.Url("web.git"), "main"}, src).exit_code, 0);

  RunResult r = daemon_.Git(bob, {"push", daemon_.Url("web.git"), "main:other"}, src);
  EXPECT_NE(r.exit_code, 0);
  // The name is taken (a first push would have created the app), so it says so.
  EXPECT_NE(r.err.find("bob may not push to app 'web' (the name is taken; choose another)"),
            std::string::npos)
      << r.err;
  // Fetching, bob learns no more than of an app that does not exist.
  r = daemon_.Ssh(bob, "git-upload-pack 'web.git'");
  EXPECT_EQ(r.err, "hephyd: no app 'web'\n");
  EXPECT_EQ(daemon_.Ssh(bob, "git-upload-pack 'ghost.git'").err, "hephyd: no app 'ghost'\n");
  EXPECT_EQ(GitOk(daemon_.RepoPath("web"), {"branch", "--list"}), "* main\n");

  r = daemon_.Git(root, {"push", daemon_.Url("web.git"), "main:admin-branch"}, src);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(HostileTest, FetchOfUnknownAppSaysSo) {
  const RunResult r =
      daemon_.Git(alice_, {"clone", daemon_.Url("ghost.git"), "ghost"}, daemon_.dir());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("hephyd: no app 'ghost'"), std::string::npos) << r.err;
  EXPECT_TRUE(NothingCreated());
}

TEST(HostileConfig, WithoutAutoCreateAFirstPushIsRefused) {
  TestDaemon daemon("apps:\n  auto_create: false\n");
  const TestKey alice = daemon.AddUser("alice");
  daemon.Start();
  const auto src = daemon.dir() / "src";
  MakeAppRepo(src);
  CommitFile(src, "f", "x\n", "c");
  const RunResult r = daemon.Git(alice, {"push", daemon.Url("new.git"), "main"}, src);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no app 'new' (apps are created by admins: 'hephyd apps create new')"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(daemon.data_dir() / "repos"));
}

}  // namespace
}  // namespace hephy
