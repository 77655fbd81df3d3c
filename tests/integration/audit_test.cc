// The audit log of pushes, written by hephyd as real git pushes over real
// ssh end, and read back with `hephyd audit`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "test_daemon.h"

namespace hephy {
namespace {

using nlohmann::json;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = daemon_.AddUser("alice");
    bob_ = daemon_.AddUser("bob");
    daemon_.Start();
  }

  RunResult Push(const TestKey& key, const std::filesystem::path& src, const std::string& app) {
    return daemon_.Git(key, {"push", daemon_.Url(app + ".git"), "main"}, src);
  }

  // The session of the n-th push to `app` has ended, and so its audit
  // record is written (just before the session's summary line).
  void WaitForPushEnd(const std::string& app, size_t n = 1) {
    ASSERT_TRUE(daemon_.WaitForLogCount(
        " app=" + app + " command=\"git-receive-pack '/" + app + ".git'\"", n))
        << daemon_.Log();
  }

  json Pushes(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"audit", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = daemon_.Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json pushes = json::array();
    for (const auto& entry : json::parse(r.out)) {
      if (entry["action"] == "push") pushes.push_back(entry);
    }
    return pushes;
  }

  std::string Fingerprint(const std::string& user) {
    const std::string keys = daemon_.Cli({"keys", "list", user}).out;
    const auto at = keys.find("SHA256:");
    return keys.substr(at, keys.find(' ', at) - at);
  }

  static void ExpectLoopbackRemote(const json& entry) {
    EXPECT_TRUE(std::regex_match(entry["remote"].get<std::string>(),
                                 std::regex("127\\.0\\.0\\.1:[0-9]{1,5}")))
        << entry.dump();
  }

  TestDaemon daemon_{"builder:\n  platforms: [linux/amd64]\n"};
  TestKey alice_, bob_;
};

TEST_F(AuditTest, AcceptedPushIsRecordedOnceWithKeyRefsAndRemote) {
  const auto src = daemon_.dir() / "web";
  MakeAppRepo(src);
  const std::string head = GitOk(src, {"rev-parse", "HEAD"}).substr(0, 7);
  const RunResult r = Push(alice_, src, "web");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WaitForPushEnd("web");

  // Pushing again what is there already asks git for nothing: no record.
  const RunResult again = Push(alice_, src, "web");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("Everything up-to-date"), std::string::npos) << again.err;
  WaitForPushEnd("web", 2);

  const json pushes = Pushes();
  ASSERT_EQ(pushes.size(), 1u) << pushes.dump(2);
  EXPECT_EQ(pushes[0]["actor"], "alice");
  EXPECT_EQ(pushes[0]["target"], "web");
  EXPECT_EQ(pushes[0]["detail"],
            "key " + Fingerprint("alice") + "; refs/heads/main 0000000.." + head + "; accepted");
  ExpectLoopbackRemote(pushes[0]);
}

TEST_F(AuditTest, PushRejectedByTheHookIsRecordedWithTheReason) {
  const auto src = daemon_.dir() / "docs";
  MakeRepo(src);
  CommitFile(src, "README", "no Dockerfile here\n", "readme");
  const std::string head = GitOk(src, {"rev-parse", "HEAD"}).substr(0, 7);
  const RunResult r = Push(alice_, src, "docs");
  ASSERT_NE(r.exit_code, 0);
  ASSERT_NE(r.err.find("pre-receive hook declined"), std::string::npos) << r.err;
  WaitForPushEnd("docs");

  const json pushes = Pushes();
  ASSERT_EQ(pushes.size(), 1u) << pushes.dump(2);
  EXPECT_EQ(pushes[0]["actor"], "alice");
  EXPECT_EQ(pushes[0]["target"], "docs");
  const std::string detail = pushes[0]["detail"];
  EXPECT_EQ(detail.rfind("key " + Fingerprint("alice") + "; refs/heads/main 0000000.." + head +
                             "; rejected: nothing to build on main (",
                         0),
            0u)
      << detail;
  EXPECT_EQ(detail.find('\n'), std::string::npos) << detail;
  ExpectLoopbackRemote(pushes[0]);
}

TEST_F(AuditTest, PushWhoseBuildFailsIsRecordedWithTheBuildsError) {
  const auto src = daemon_.dir() / "broken";
  MakeRepo(src);
  std::filesystem::create_directories(src / "bin");
  std::filesystem::copy_file("/bin/busybox", src / "bin/busybox");
  GitOk(src, {"add", "bin"});
  CommitFile(src, "Dockerfile",
             "FROM scratch\nCOPY bin/ /bin/\nRUN [\"/bin/busybox\", \"false\"]\n", "fails");
  const RunResult r = Push(alice_, src, "broken");
  ASSERT_NE(r.exit_code, 0);
  WaitForPushEnd("broken");

  const json pushes = Pushes();
  ASSERT_EQ(pushes.size(), 1u) << pushes.dump(2);
  const std::string detail = pushes[0]["detail"];
  EXPECT_NE(detail.find("; rejected: build 1 (broken) failed: linux/amd64: buildah build exited "
                        "with status 1"),
            std::string::npos)
      << detail;
}

TEST_F(AuditTest, PushDeniedBeforeGitStartsIsRecorded) {
  ASSERT_EQ(daemon_.Cli({"apps", "create", "web", "--owner", "alice"}).exit_code, 0);
  const auto src = daemon_.dir() / "web";
  MakeAppRepo(src);
  const RunResult r = Push(bob_, src, "web");
  ASSERT_NE(r.exit_code, 0);
  ASSERT_NE(r.err.find("hephyd: bob may not push to app 'web'"), std::string::npos) << r.err;
  WaitForPushEnd("web");

  const json pushes = Pushes();
  ASSERT_EQ(pushes.size(), 1u) << pushes.dump(2);
  EXPECT_EQ(pushes[0]["actor"], "bob");
  EXPECT_EQ(pushes[0]["target"], "web");
  EXPECT_EQ(pushes[0]["detail"],
            "key " + Fingerprint("bob") +
                "; denied: bob may not push to app 'web' (the name is taken; choose another)");
  ExpectLoopbackRemote(pushes[0]);
  // A fetch is not a push.
  EXPECT_EQ(daemon_.Ssh(bob_, "git-upload-pack 'web.git'").exit_code, 1);
  EXPECT_EQ(Pushes().size(), 1u);
}

TEST_F(AuditTest, PushWithADeployKeyIsRecordedUnderIt) {
  ASSERT_EQ(daemon_.Cli({"apps", "create", "web", "--owner", "alice"}).exit_code, 0);
  const TestKey ci = daemon_.NewKey("ci");
  const RunResult added =
      daemon_.Cli({"keys", "add", "--deploy", "web", "--write", ci.public_key.string()});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string fingerprint = added.out.substr(added.out.find("SHA256:"), 50);
  const auto src = daemon_.dir() / "web";
  MakeAppRepo(src);
  const RunResult r = Push(ci, src, "web");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WaitForPushEnd("web");

  const json pushes = Pushes();
  ASSERT_EQ(pushes.size(), 1u) << pushes.dump(2);
  EXPECT_EQ(pushes[0]["actor"], "deploy:" + fingerprint);
  EXPECT_EQ(pushes[0]["detail"].get<std::string>().rfind("key " + fingerprint + "; ", 0), 0u)
      << pushes[0].dump();
  EXPECT_TRUE(pushes[0]["detail"].get<std::string>().ends_with("; accepted")) << pushes[0].dump();
}

TEST_F(AuditTest, OverSshOnlyAdminsReadTheAuditLog) {
  const RunResult denied = daemon_.Ssh(alice_, "audit");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_EQ(denied.err, "hephyd: alice may not read the audit log (admins only)\n");

  ASSERT_EQ(daemon_.Cli({"users", "add", "root", "--admin"}).exit_code, 0);
  const TestKey root = daemon_.NewKey("root");
  ASSERT_EQ(daemon_.Cli({"keys", "add", "root", root.public_key.string()}).exit_code, 0);
  const RunResult r = daemon_.Ssh(root, "audit --json --limit 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[0]["action"], "keys.add");
}

TEST_F(AuditTest, AuditSinceAndJson) {
  const auto src = daemon_.dir() / "docs";
  MakeRepo(src);
  CommitFile(src, "README", "no Dockerfile here\n", "readme");
  ASSERT_NE(Push(alice_, src, "docs").exit_code, 0);
  WaitForPushEnd("docs");

  // users add and keys add for alice and bob, then the push.
  RunResult r = daemon_.Cli({"audit", "--json", "--since", "1h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json all = json::parse(r.out);
  ASSERT_EQ(all.size(), 5u) << all.dump(2);
  EXPECT_EQ(all[0]["action"], "users.add");
  EXPECT_EQ(all[0]["actor"], "cli");
  EXPECT_TRUE(all[0]["remote"].is_null());
  EXPECT_EQ(all[4]["action"], "push");
  EXPECT_TRUE(
      std::regex_match(all[4]["at"].get<std::string>(),
                       std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")));
  EXPECT_EQ(daemon_.Cli({"audit", "--json", "--since", "2999-01-01T00:00:00Z"}).out, "[]\n");
  EXPECT_EQ(json::parse(daemon_.Cli({"audit", "--json", "--since", "2000-01-01"}).out).size(), 5u);
  EXPECT_EQ(json::parse(daemon_.Cli({"audit", "--json", "--limit", "1"}).out)[0]["action"], "push");

  const RunResult table = daemon_.Cli({"audit"});
  EXPECT_EQ(table.out.substr(0, table.out.find('\n')).find("AT  "), 0u) << table.out;
  EXPECT_NE(table.out.find("  push  "), std::string::npos) << table.out;

  r = daemon_.Cli({"audit", "--since", "fortnight"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("hephyd audit: --since: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("got 'fortnight'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hephy
