// hephyd's commands over SSH, with the caller's rights, and every right
// checked both ways: real ssh and git against a real hephyd, real buildah
// builds into its embedded registry.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_daemon.h"

namespace hephy {
namespace {

using nlohmann::json;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class SshCommandsTest : public ::testing::Test {
 protected:
  SshCommandsTest() : daemon_("builder:\n  platforms: [linux/amd64]\n") {
    root_ = daemon_.AddUser("root", true);
    alice_ = daemon_.AddUser("alice");
    bob_ = daemon_.AddUser("bob");
    carol_ = daemon_.AddUser("carol");
    daemon_.Start();
  }

  RunResult As(const TestKey& key, const std::string& command, const std::string& input = "") {
    return daemon_.Ssh(key, command, {}, input);
  }

  // A repository with a COPY-only app, committed on main.
  std::filesystem::path MakeSource(const std::string& name) {
    const auto src = daemon_.dir() / name;
    MakeRepo(src);
    std::ofstream(src / "hello.txt") << name << "\n";
    GitOk(src, {"add", "hello.txt"});
    CommitFile(src, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n", "first");
    return src;
  }

  RunResult Push(const TestKey& key, const std::filesystem::path& src, const std::string& app,
                 const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"push"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(daemon_.Url(app + ".git"));
    if (extra.empty() || extra.front() != "--mirror") args.push_back("main");
    return daemon_.Git(key, args, src);
  }

  TestDaemon daemon_;
  TestKey root_, alice_, bob_, carol_;
};

TEST_F(SshCommandsTest, WhoamiAndHelpAnswerEveryone) {
  RunResult r = As(alice_, "whoami");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("alice\nkey:    SHA256:")) << r.out;
  EXPECT_NE(r.out.find("from:   127.0.0.1:"), std::string::npos) << r.out;
  r = As(root_, "whoami --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["admin"], true);
  r = As(alice_, "help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: ssh -p PORT git@HOST COMMAND"), std::string::npos) << r.out;
  r = As(alice_, "apps grant --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: hephyd apps grant APP USER [read|write]"), std::string::npos);
}

TEST_F(SshCommandsTest, UsersCommandsAreForAdminsOnly) {
  RunResult r = As(alice_, "users list");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: alice may not list users (admins only)\n");
  r = As(alice_, "users add mallory --admin");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: alice may not add users (admins only)\n");

  r = As(root_, "users add dave");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "added user dave\n");
  r = As(root_, "users list --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).size(), 5u);
  // The serve-only command and the host's options are not for SSH clients.
  r = As(root_, "serve");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: unknown command 'serve'; try 'help'\n");
  r = As(root_, "users list --config /etc/passwd");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown option '--config'"), std::string::npos) << r.err;
}

TEST_F(SshCommandsTest, KeysComeOnStdinAndUsersManageOnlyTheirOwn) {
  const TestKey extra = daemon_.NewKey("alice-laptop");
  RunResult r = As(alice_, "keys add alice", ReadFile(extra.public_key));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("for alice"), std::string::npos) << r.out;
  // The new key works at once.
  r = As(extra, "whoami");
  EXPECT_TRUE(r.out.starts_with("alice\n")) << r.out << r.err;

  const TestKey stolen = daemon_.NewKey("for-bob");
  r = As(alice_, "keys add bob", ReadFile(stolen.public_key));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: alice may not add keys for bob (admins only)\n");
  r = As(alice_, "keys add alice /etc/ssh/ssh_host_ed25519_key.pub");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("over SSH, keys are read from stdin"), std::string::npos) << r.err;

  r = As(alice_, "keys list --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& key : json::parse(r.out)) EXPECT_EQ(key["user"], "alice");
  EXPECT_EQ(json::parse(r.out).size(), 2u);
  EXPECT_EQ(As(alice_, "keys list bob").exit_code, 1);

  // bob's key is not alice's to remove; her own is.
  const std::string bobs = json::parse(As(root_, "keys list bob --json").out)[0]["fingerprint"];
  r = As(alice_, "keys remove " + bobs);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: alice may not remove the keys of bob (admins only)\n");
  const std::string hers = json::parse(As(extra, "whoami --json").out)["key"];
  EXPECT_EQ(As(alice_, "keys remove " + hers).exit_code, 0);
  EXPECT_NE(As(extra, "whoami").exit_code, 0);
}

TEST_F(SshCommandsTest, ApiTokensAreTheirOwnersToMakeListAndRevoke) {
  RunResult r = As(alice_, "tokens create alice --name laptop");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("hephy_")) << r.out;
  r = As(alice_, "tokens create bob");
  EXPECT_EQ(r.err, "hephyd: alice may not make tokens for bob (admins only)\n");
  ASSERT_EQ(As(root_, "tokens create bob").exit_code, 0);

  const json mine = json::parse(As(alice_, "tokens list --json").out);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["user"], "alice");
  EXPECT_EQ(As(alice_, "tokens list bob").exit_code, 1);
  const json bobs = json::parse(As(bob_, "tokens list --json").out);
  ASSERT_EQ(bobs.size(), 1u);
  const std::string bob_id = std::to_string(bobs[0]["id"].get<int64_t>());
  r = As(alice_, "tokens revoke " + bob_id);
  EXPECT_EQ(r.err, "hephyd: no token " + bob_id + "\n");
  EXPECT_EQ(As(bob_, "tokens revoke " + bob_id).exit_code, 0);
}

// Deploy tokens are made, listed and revoked by whom may add deploy keys:
// the app's owner and admins. A member is told why; who may not read the
// app is told of nothing.
TEST_F(SshCommandsTest, DeployTokensAreTheAppOwnersToMakeListAndRevoke) {
  ASSERT_EQ(As(alice_, "apps create web").exit_code, 0);
  ASSERT_EQ(As(alice_, "apps grant web bob write").exit_code, 0);
  RunResult r = As(alice_, "tokens create --deploy web --write --name ci");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("hephy_")) << r.out;
  EXPECT_NE(r.err.find("created deploy token 1 (ci) for app web with write access"),
            std::string::npos)
      << r.err;
  r = As(bob_, "tokens create --deploy web");
  EXPECT_EQ(r.err, "hephyd: bob may not add deploy tokens to app 'web' (write access)\n");
  r = As(carol_, "tokens create --deploy web");
  EXPECT_EQ(r.err, "hephyd: no app 'web'\n");
  ASSERT_EQ(As(root_, "tokens create --deploy web --name admins").exit_code, 0);
  ASSERT_EQ(As(bob_, "tokens create bob").exit_code, 0);

  // alice: the deploy tokens of her app; bob: his own token only.
  const json alices = json::parse(As(alice_, "tokens list --json").out);
  ASSERT_EQ(alices.size(), 2u) << alices.dump();
  EXPECT_EQ(alices[0]["app"], "web");
  EXPECT_EQ(alices[0]["access"], "write");
  EXPECT_EQ(alices[1]["access"], "read");
  EXPECT_EQ(json::parse(As(alice_, "tokens list --app web --json").out), alices);
  const json bobs = json::parse(As(bob_, "tokens list --json").out);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0]["kind"], "user");
  r = As(bob_, "tokens list --app web");
  EXPECT_EQ(r.err, "hephyd: bob may not list the deploy tokens of app 'web' (write access)\n");
  EXPECT_EQ(As(carol_, "tokens list --app web").err, "hephyd: no app 'web'\n");
  EXPECT_EQ(json::parse(As(root_, "tokens list --json").out).size(), 3u);

  r = As(carol_, "tokens revoke 1");
  EXPECT_EQ(r.err, "hephyd: no token 1\n");
  r = As(bob_, "tokens revoke 1");
  EXPECT_EQ(r.err, "hephyd: bob may not revoke deploy tokens of app 'web' (write access)\n");
  r = As(alice_, "tokens revoke 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "revoked deploy token 1 (ci) of app web\n");
  EXPECT_EQ(As(alice_, "tokens revoke 1").err, "hephyd: no token 1\n");
  // bob's own token is not the app owner's to revoke.
  const std::string bob_id = std::to_string(bobs[0]["id"].get<int64_t>());
  EXPECT_EQ(As(alice_, "tokens revoke " + bob_id).err, "hephyd: no token " + bob_id + "\n");

  // Recorded with who and from where, never the token.
  const json audit = json::parse(daemon_.Cli({"audit", "--json"}).out);
  ASSERT_FALSE(audit.empty());
  const json& last = audit.back();
  EXPECT_EQ(last["actor"], "alice");
  EXPECT_EQ(last["action"], "tokens.revoke");
  EXPECT_EQ(last["target"], "web");
  EXPECT_EQ(last["detail"], "deploy write token 1 (ci)");
  EXPECT_TRUE(last["remote"].is_string()) << last.dump();
}

TEST_F(SshCommandsTest, EveryRightOfAnAppIsCheckedBothWays) {
  RunResult r = As(alice_, "apps create web");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto src = MakeSource("web-src");
  ASSERT_EQ(Push(alice_, src, "web").exit_code, 0);

  // bob: nothing yet, told as of an app that does not exist.
  r = As(bob_, "apps info web");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: no app 'web'\n");
  EXPECT_EQ(As(bob_, "apps info ghost").err, "hephyd: no app 'ghost'\n");
  EXPECT_EQ(json::parse(As(bob_, "apps list --json").out).size(), 0u);
  EXPECT_EQ(json::parse(As(bob_, "builds list --json").out).size(), 0u);
  r = As(bob_, "builds show 1");
  EXPECT_EQ(r.err, "hephyd: build 1: no such build\n");
  EXPECT_EQ(As(bob_, "logs 1").err, "hephyd: build 1: no such build\n");
  r = daemon_.Git(bob_, {"clone", daemon_.Url("web.git"), (daemon_.dir() / "bob-web").string()},
                  daemon_.dir());
  EXPECT_NE(r.err.find("hephyd: no app 'web'"), std::string::npos) << r.err;
  r = As(carol_, "apps grant web carol write");
  EXPECT_EQ(r.err, "hephyd: no app 'web'\n");

  // Read: clone, builds, logs; no push, no rebuild, no managing.
  r = As(alice_, "apps grant web bob read");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bob now has read access to app web\n");
  EXPECT_EQ(As(bob_, "apps info web").exit_code, 0);
  EXPECT_EQ(json::parse(As(bob_, "builds list --json").out).size(), 1u);
  EXPECT_EQ(As(bob_, "logs 1").exit_code, 0);
  const auto clone = daemon_.dir() / "bob-web";
  r = daemon_.Git(bob_, {"clone", daemon_.Url("web.git"), clone.string()}, daemon_.dir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommitFile(clone, "hello.txt", "from bob\n", "bob's change");
  r = Push(bob_, clone, "web");
  EXPECT_NE(r.err.find("bob may not push to app 'web' (read access)"), std::string::npos) << r.err;
  r = As(bob_, "rebuild web");
  EXPECT_EQ(r.err, "hephyd: bob may not rebuild app 'web' (read access)\n");
  r = As(bob_, "apps grant web carol read");
  EXPECT_EQ(r.err, "hephyd: bob may not manage the members of app 'web' (read access)\n");

  // Write: push and rebuild; still no managing.
  ASSERT_EQ(As(alice_, "apps grant web bob write").exit_code, 0);
  r = Push(bob_, clone, "web");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = As(bob_, "rebuild web");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("succeeded"), std::string::npos) << r.out;
  EXPECT_EQ(As(bob_, "apps revoke web alice").exit_code, 1);

  // Revoked: nothing again.
  r = As(alice_, "apps revoke web bob");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bob no longer has access to app web\n");
  r = daemon_.Git(bob_, {"fetch", "origin"}, clone);
  EXPECT_NE(r.err.find("hephyd: no app 'web'"), std::string::npos) << r.err;
  EXPECT_EQ(As(bob_, "apps revoke web bob").exit_code, 1);

  // Admins may do all of it to anyone's app.
  EXPECT_EQ(As(root_, "apps grant web carol read").exit_code, 0);
  const json info = json::parse(As(alice_, "apps info web --json").out);
  EXPECT_EQ(info["owner"], "alice");
  ASSERT_EQ(info["members"].size(), 1u);
  EXPECT_EQ(info["members"][0]["user"], "carol");
}

TEST_F(SshCommandsTest, UsersCreateOnlyTheirOwnAppsAndDeleteOnlyWhatTheyOwn) {
  RunResult r = As(alice_, "apps create api --owner bob");
  EXPECT_EQ(r.err, "hephyd: alice may not create apps for other users (admins only)\n");
  ASSERT_EQ(As(alice_, "apps create api").exit_code, 0);
  const auto src = MakeSource("api-src");
  ASSERT_EQ(Push(alice_, src, "api").exit_code, 0);
  ASSERT_TRUE(std::filesystem::exists(daemon_.RepoPath("api")));
  ASSERT_TRUE(std::filesystem::exists(daemon_.data_dir() / "logs" / "1"));

  r = As(bob_, "apps delete api --confirm api");
  EXPECT_EQ(r.err, "hephyd: no app 'api'\n");
  r = As(alice_, "apps delete api");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("confirm with --confirm api"), std::string::npos) << r.err;
  r = As(alice_, "apps delete api --confirm api");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(daemon_.RepoPath("api")));
  EXPECT_FALSE(std::filesystem::exists(daemon_.data_dir() / "logs" / "1"));
  EXPECT_EQ(json::parse(daemon_.Cli({"builds", "list", "--json"}).out).size(), 0u);
  EXPECT_EQ(As(alice_, "apps info api").err, "hephyd: no app 'api'\n");
}

TEST_F(SshCommandsTest, DeployKeyMirrorsUpstreamWithForcePushesToItsAppOnly) {
  ASSERT_EQ(As(alice_, "apps create web").exit_code, 0);
  ASSERT_EQ(As(alice_, "apps create other").exit_code, 0);
  const TestKey ci = daemon_.NewKey("gitlab-ci");
  RunResult r = As(alice_, "keys add --deploy web --write", ReadFile(ci.public_key));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("to app web with write access"), std::string::npos) << r.out;
  r = As(bob_, "keys add --deploy web", ReadFile(daemon_.NewKey("bobs").public_key));
  EXPECT_EQ(r.err, "hephyd: no app 'web'\n");

  // The CI job: a mirror of the upstream, pushed with the deploy key.
  const auto upstream = MakeSource("upstream");
  GitOk(upstream, {"tag", "v1"});
  const auto mirror = daemon_.dir() / "mirror.git";
  GitOk(daemon_.dir(), {"clone", "--mirror", upstream.string(), mirror.string()});
  r = Push(ci, mirror, "web", {"--mirror"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remote: hephy: build 1 (web) succeeded"), std::string::npos) << r.err;
  EXPECT_EQ(GitOk(daemon_.RepoPath("web"), {"tag"}), "v1\n");

  // Upstream rewrites history; the mirror follows with a forced push.
  std::ofstream(upstream / "hello.txt") << "rewritten\n";
  GitOk(upstream, {"commit", "--amend", "-q", "-a", "-m", "rewritten"});
  GitOk(mirror, {"fetch", "--prune", "--force", "origin", "+refs/*:refs/*"});
  r = Push(ci, mirror, "web", {"--mirror"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(GitOk(daemon_.RepoPath("web"), {"rev-parse", "main"}),
            GitOk(upstream, {"rev-parse", "main"}));
  const json builds = json::parse(daemon_.Cli({"builds", "list", "--json"}).out);
  ASSERT_EQ(builds.size(), 2u);
  EXPECT_EQ(builds[0]["pusher"],
            "deploy:" + json::parse(As(ci, "whoami --json").out)["key"].get<std::string>());

  // Its app only, git and whoami only.
  r = Push(ci, upstream, "other");
  EXPECT_NE(r.err.find("hephyd: no app 'other'"), std::string::npos) << r.err;
  r = As(ci, "apps list");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("may run git and whoami only"), std::string::npos) << r.err;
  r = As(ci, "whoami");
  EXPECT_TRUE(r.out.starts_with("deploy key of app web (write access)\n")) << r.out;
}

TEST_F(SshCommandsTest, ReadOnlyDeployKeyClonesButCannotPush) {
  ASSERT_EQ(As(alice_, "apps create web").exit_code, 0);
  const auto src = MakeSource("web-src");
  ASSERT_EQ(Push(alice_, src, "web").exit_code, 0);
  const TestKey reader = daemon_.NewKey("reader");
  ASSERT_EQ(As(alice_, "keys add --deploy web", ReadFile(reader.public_key)).exit_code, 0);
  const auto clone = daemon_.dir() / "read-clone";
  RunResult r =
      daemon_.Git(reader, {"clone", daemon_.Url("web.git"), clone.string()}, daemon_.dir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommitFile(clone, "hello.txt", "changed\n", "change");
  r = Push(reader, clone, "web");
  EXPECT_NE(r.err.find("may not push to app 'web' (read access)"), std::string::npos) << r.err;

  // A deploy key is never a user's key, and the other way round.
  r = As(alice_, "keys add alice", ReadFile(reader.public_key));
  EXPECT_NE(r.err.find("is already a deploy key of app 'web'"), std::string::npos) << r.err;
  const json keys = json::parse(As(alice_, "keys list --app web --json").out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["access"], "read");
  EXPECT_EQ(As(alice_, "keys remove " + keys[0]["fingerprint"].get<std::string>()).exit_code, 0);
  EXPECT_NE(daemon_.Git(reader, {"fetch"}, clone).exit_code, 0);
}

}  // namespace
}  // namespace hephy
