// The daemon's life: start-up, restarts, shutdown, and clients that vanish.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "hephy/store.h"
#include "processes.h"
#include "store/migrations.h"
#include "test_daemon.h"

namespace hephy {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Lifecycle, HostKeysAreGeneratedOnceAndReused) {
  TestDaemon daemon;
  daemon.Start();
  const auto ed25519 = daemon.data_dir() / "ssh_host_ed25519_key";
  const auto rsa = daemon.data_dir() / "ssh_host_rsa_key";
  const std::string first = ReadFile(ed25519) + ReadFile(rsa);
  EXPECT_EQ(std::filesystem::status(ed25519).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(daemon.Stop(), 0);

  daemon.Start();
  EXPECT_EQ(ReadFile(ed25519) + ReadFile(rsa), first);
  EXPECT_EQ(daemon.Log().find("generated host key"), std::string::npos) << daemon.Log();
}

TEST(Lifecycle, SigtermStopsTheDaemonCleanly) {
  TestDaemon daemon;
  daemon.Start();
  EXPECT_EQ(daemon.Stop(), 0);
  EXPECT_NE(daemon.Log().find("stopped"), std::string::npos);
}

TEST(Lifecycle, BadConfigFailsAtStartNamingFileAndLine) {
  TestDaemon daemon("builder:\n  platforms: [linux/amd64, windows]\n");
  const RunResult r = daemon.Cli({"serve"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: " + daemon.config_path().string() +
                       ":5: builder.platforms: invalid platform 'windows' (expected "
                       "os/arch[/variant])\n");
}

TEST(Lifecycle, ConfigComesFromHephyConfigWhenNoFlagIsGiven) {
  TestDaemon daemon;
  SpawnOptions options;
  options.argv = {HEPHYD_PATH, "users", "add", "viaenv"};
  options.env = daemon.ClientEnv();
  options.env->push_back("HEPHY_CONFIG=" + daemon.config_path().string());
  ASSERT_EQ(hephy::Run(options).exit_code, 0);
  EXPECT_NE(daemon.Cli({"users", "list"}).out.find("viaenv"), std::string::npos);
}

TEST(Lifecycle, SecondStartAppliesNoMigrations) {
  TestDaemon daemon;
  daemon.Start();
  const std::string applied =
      "applied " + std::to_string(EmbeddedMigrations().size()) + " schema migration(s)";
  EXPECT_NE(daemon.Log().find(applied), std::string::npos) << daemon.Log();
  daemon.Stop();
  daemon.Start();
  EXPECT_EQ(daemon.Log().find("schema migration"), std::string::npos) << daemon.Log();
}

TEST(Lifecycle, BuildsLeftUnfinishedAreInterruptedAtStart) {
  TestDaemon daemon;
  ASSERT_EQ(daemon.Cli({"apps", "create", "web"}).exit_code, 0);
  int64_t running = 0;
  int64_t finished = 0;
  {
    Store store(daemon.data_dir() / "hephy.db");
    const NewBuild push{.app = "web",
                        .unit = "web",
                        .ref = "refs/heads/main",
                        .new_sha = "1a2b3c4",
                        .pusher = "alice",
                        .platforms = {"linux/amd64"}};
    running = store.CreateBuild(push, daemon.data_dir() / "logs").id;
    store.StartBuild(running);
    finished = store.CreateBuild(push, daemon.data_dir() / "logs").id;
    store.FinishBuild(finished, "cancelled", "", "", {});
  }
  daemon.Start();
  EXPECT_NE(daemon.Log().find("marked 1 build(s) left unfinished by the last hephyd as "
                              "interrupted: " +
                              std::to_string(running)),
            std::string::npos)
      << daemon.Log();
  Store store(daemon.data_dir() / "hephy.db");
  EXPECT_EQ(store.FindBuild(running)->status, "interrupted");
  EXPECT_EQ(store.FindBuild(running)->jobs[0].status, "interrupted");
  EXPECT_EQ(store.FindBuild(finished)->status, "cancelled");
}

// A client that disappears mid-push must not leave git running.
TEST(Lifecycle, ClientDisconnectKillsGit) {
  TestDaemon daemon;
  const TestKey alice = daemon.AddUser("alice");
  daemon.Start();
  Child client = OpenReceivePack(daemon, alice, "dropped");
  const std::string repo = daemon.RepoPath("dropped").string();
  ASSERT_FALSE(ProcessesMatching("receive-pack " + repo).empty());

  client.KillGroup(SIGKILL);
  client.Wait();
  ASSERT_TRUE(daemon.WaitForLog("client disconnected; git killed")) << daemon.Log();
  EXPECT_TRUE(ProcessesMatching("receive-pack " + repo).empty());
}

TEST(Lifecycle, SessionsBeyondMaxSessionsAreToldToTryLater) {
  TestDaemon daemon("  max_sessions: 1\n");  // goes under the generated ssh: mapping
  const TestKey alice = daemon.AddUser("alice");
  daemon.Start();
  // One session held open: receive-pack waits for the client's commands.
  Child held = OpenReceivePack(daemon, alice, "held");

  const RunResult refused = daemon.Ssh(alice, "git-upload-pack 'held.git'");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "hephyd: ssh.max_sessions (1) sessions are open; try again later\n");
  EXPECT_TRUE(daemon.WaitForLog("refused: hephyd: ssh.max_sessions (1) sessions are open"));

  held.stdin_fd().Reset();  // the client ends its push: the slot frees up
  held.Wait();
  // The slot is released when the session's thread ends, just after its log
  // line; a connection in that instant is still refused, so a few attempts
  // are allowed.
  ASSERT_TRUE(daemon.WaitForLog("app=held command=\"git-receive-pack 'held.git'\""));
  std::string err = refused.err;
  for (int attempt = 0; attempt < 20 && err == refused.err; ++attempt) {
    err = daemon.Ssh(alice, "git-upload-pack 'nope.git'").err;
  }
  EXPECT_EQ(err, "hephyd: no app 'nope'\n");
}

TEST(Lifecycle, ManyConcurrentPushesAllLand) {
  constexpr int kPushes = 8;
  // All by one user: above the default ssh.max_pushes_per_user.
  TestDaemon daemon("  max_pushes_per_user: " + std::to_string(kPushes) + "\n");
  const TestKey alice = daemon.AddUser("alice");
  daemon.Start();
  std::vector<std::thread> threads;
  std::vector<RunResult> results(kPushes);
  for (int i = 0; i < kPushes; ++i) {
    const auto src = daemon.dir() / ("src" + std::to_string(i));
    MakeAppRepo(src);
    CommitFile(src, "f", std::to_string(i), "c");
    threads.emplace_back([&, i, src] {
      results[i] = daemon.Git(alice, {"push", daemon.Url("app" + std::to_string(i)), "main"}, src);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPushes; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
    EXPECT_EQ(GitOk(daemon.RepoPath("app" + std::to_string(i)), {"show", "main:f"}),
              std::to_string(i));
  }
}

}  // namespace
}  // namespace hephy
