// The SSH front's limits, with the real ssh and git: addresses that fail to
// authenticate, connections still authenticating, idle sessions and pushes
// per user.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "output_watcher.h"
#include "test_daemon.h"

namespace hephy {
namespace {

// Linux routes all of 127.0.0.0/8 to the loopback interface, so a client
// bound to 127.0.0.2 reaches hephyd on 127.0.0.1 from another address.
const std::vector<std::string> kFromOtherAddress = {"-o", "BindAddress=127.0.0.2"};

// An exec that needs no repository: its refusal proves the client got in.
constexpr const char* kProbe = "git-upload-pack 'nope.git'";
constexpr const char* kInside = "hephyd: no app 'nope'\n";

// Ends a receive-pack opened with OpenReceivePack the way a client with
// nothing to push does; its exit status.
int FinishReceivePack(Child& client) {
  [[maybe_unused]] const auto n = write(client.stdin_fd().get(), "0000", 4);
  client.stdin_fd().Reset();
  return client.Wait();
}

TEST(Limits, AddressWithFailedAuthenticationsIsBlockedOthersAreNot) {
  TestDaemon daemon("  auth_failures: { limit: 3, window: 60s, block: 60s }\n");
  const TestKey alice = daemon.AddUser("alice");
  const TestKey mallory = daemon.NewKey("mallory");  // not registered
  daemon.Start();
  // Authenticated before the flood, from the address about to be blocked.
  Child held = OpenReceivePack(daemon, alice, "held");

  for (int i = 0; i < 3; ++i) {
    const RunResult r = daemon.Ssh(mallory, kProbe);
    EXPECT_EQ(r.exit_code, 255);
    EXPECT_NE(r.err.find("Permission denied (publickey)"), std::string::npos) << r.err;
  }
  ASSERT_TRUE(daemon.WaitForLog(
      "remote address 127.0.0.1 blocked for 60s: 3 connections failed to authenticate within "
      "60s (ssh.auth_failures)"))
      << daemon.Log();

  // Every new connection from 127.0.0.1 is closed before authentication,
  // whatever its key.
  for (const TestKey* key : {&mallory, &alice}) {
    const RunResult r = daemon.Ssh(*key, kProbe);
    EXPECT_EQ(r.exit_code, 255);
    EXPECT_EQ(r.err.find("Permission denied"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("kex_exchange_identification"), std::string::npos) << r.err;
  }
  // Another address is not blocked...
  const RunResult other = daemon.Ssh(alice, kProbe, kFromOtherAddress);
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_EQ(other.err, kInside);
  // ...nor is the session that had authenticated already.
  EXPECT_EQ(FinishReceivePack(held), 0);
}

TEST(Limits, ConnectionsStillAuthenticatingAreBoundedApartFromSessions) {
  TestDaemon daemon("  max_startups: 1\n  max_sessions: 4\n");
  const TestKey alice = daemon.AddUser("alice");
  daemon.Start();
  Child held = OpenReceivePack(daemon, alice, "held");  // a session: not counted

  // A client that connects and says nothing holds the one place.
  const int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(daemon.port());
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(connect(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  const RunResult refused = daemon.Ssh(alice, kProbe);
  EXPECT_EQ(refused.exit_code, 255) << refused.err;
  EXPECT_TRUE(daemon.WaitForLog("refused: ssh.max_startups (1) connections are authenticating"))
      << daemon.Log();

  close(silent);
  ASSERT_TRUE(daemon.WaitForLog("key exchange failed")) << daemon.Log();
  // The place is given back as the silent connection's thread ends, just
  // after its log line; a connection in that instant is still refused.
  std::string err;
  for (int attempt = 0; attempt < 20 && err != kInside; ++attempt) {
    err = daemon.Ssh(alice, kProbe).err;
  }
  EXPECT_EQ(err, kInside);
  EXPECT_EQ(FinishReceivePack(held), 0);
}

class BusyboxAppTest : public ::testing::Test {
 protected:
  // A repository whose Dockerfile runs busybox `sh -c SCRIPT` (amd64 only).
  void CommitBusyboxApp(const std::filesystem::path& src, const std::string& script) {
    MakeRepo(src);
    std::filesystem::create_directories(src / "bin");
    std::filesystem::copy_file("/bin/busybox", src / "bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
    GitOk(src, {"add", "bin"});
    CommitFile(src, "Dockerfile",
               "FROM scratch\nCOPY bin/ /bin/\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"" + script +
                   "\"]\n",
               "app");
  }
};

TEST_F(BusyboxAppTest, IdleSessionIsClosedButABuildPrintingIsNot) {
  TestDaemon daemon("  idle_timeout: 2s\nbuilder:\n  platforms: [linux/amd64]\n");
  const TestKey alice = daemon.AddUser("alice");
  daemon.Start();

  // Connected, then silent: receive-pack waits for commands that never come.
  Child idle = OpenReceivePack(daemon, alice, "idle");
  ASSERT_TRUE(daemon.WaitForLog("user=alice idle for 2s (ssh.idle_timeout); closing the session"))
      << daemon.Log();
  EXPECT_NE(idle.Wait(), 0);
  EXPECT_TRUE(daemon.WaitForLog("app=idle command=\"git-receive-pack 'idle.git'\""));
  EXPECT_NE(daemon.Log().find(" idle timeout; git killed"), std::string::npos) << daemon.Log();

  // A build that runs for twice the idle timeout, printing all along.
  const auto src = daemon.dir() / "ticks";
  CommitBusyboxApp(src, "for i in 1 2 3 4 5; do echo tick $i; /bin/busybox sleep 1; done");
  const RunResult push = daemon.Git(alice, {"push", daemon.Url("ticks.git"), "main"}, src);
  EXPECT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("remote: [linux/amd64] tick 5"), std::string::npos) << push.err;
}

TEST_F(BusyboxAppTest, OneMorePushThanMaxPushesPerUserIsRefused) {
  TestDaemon daemon("  max_pushes_per_user: 1\nbuilder:\n  platforms: [linux/amd64]\n");
  const TestKey alice = daemon.AddUser("alice");
  const TestKey bob = daemon.AddUser("bob");
  daemon.Start();
  const auto slow = daemon.dir() / "slow";
  CommitBusyboxApp(slow, "echo started; /bin/busybox sleep 60");
  Child running = daemon.GitInBackground(alice, {"push", daemon.Url("slow.git"), "main"}, slow);
  OutputWatcher output(running.stderr_fd().get());
  ASSERT_TRUE(output.WaitFor("remote: [linux/amd64] started")) << output.Text();

  // alice's next push, to another app, is refused before git starts...
  const auto other = daemon.dir() / "other";
  MakeAppRepo(other);
  const RunResult refused = daemon.Git(alice, {"push", daemon.Url("other.git"), "main"}, other);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("hephyd: alice already has 1 push running (ssh.max_pushes_per_user)"),
            std::string::npos)
      << refused.err;
  // ...bob's is not (to a branch that does not build, to be quick).
  const RunResult bobs = daemon.Git(bob, {"push", daemon.Url("bobs.git"), "main:wip"}, other);
  EXPECT_EQ(bobs.exit_code, 0) << bobs.err;

  // Once alice's push is over, she may push again.
  running.KillGroup(SIGKILL);
  running.Wait();
  output.Join();
  ASSERT_TRUE(daemon.WaitForLog("app=slow command=\"git-receive-pack '/slow.git'\""))
      << daemon.Log();
  const RunResult again = daemon.Git(alice, {"push", daemon.Url("other.git"), "main:wip"}, other);
  EXPECT_EQ(again.exit_code, 0) << again.err;

  // The audit log has each push, the refused one and the one cut short too.
  ASSERT_TRUE(daemon.WaitForLogCount("app=other command=\"git-receive-pack '/other.git'\"", 2));
  const auto audit = nlohmann::json::parse(daemon.Cli({"audit", "--json"}).out);
  std::map<std::string, std::vector<std::string>> results;  // by app, in order
  for (const auto& entry : audit) {
    if (entry["action"] != "push") continue;
    // "key ...; REF OLD..NEW; RESULT", where RESULT may hold "; " too.
    const std::string detail = entry["detail"];
    size_t at = std::string::npos;
    for (const char* result : {"; accepted", "; rejected: ", "; denied: "}) {
      at = std::min(at, detail.find(result));
    }
    results[entry["target"]].push_back(detail.substr(at + 2));
  }
  // (Or the build's cancellation, should hephyd record that first.)
  ASSERT_EQ(results["slow"].size(), 1u);
  EXPECT_EQ(results["slow"][0].rfind("rejected: ", 0), 0u) << results["slow"][0];
  EXPECT_EQ(results["other"],
            (std::vector<std::string>{
                "denied: alice already has 1 push running (ssh.max_pushes_per_user)", "accepted"}));
  EXPECT_EQ(results["bobs"], std::vector<std::string>{"accepted"});
}

}  // namespace
}  // namespace hephy
