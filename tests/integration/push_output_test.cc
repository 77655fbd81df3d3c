// What the pusher reads: colours on and off (push.color, -o color=), the
// summary that ends a successful push, the failed platform and step named
// before its last lines; and a newcomer's first push: serve says how to
// trust its host key, and HEAD names a branch that exists, so a clone checks
// out files. Real git over real ssh to a real hephyd, real buildah.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "app_commits.h"
#include "build/image_tags.h"
#include "hephy/registry_client.h"
#include "processes.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

constexpr const char* kEsc = "\x1b[";

class PushOutputTest : public ::testing::Test {
 protected:
  void Start(const std::string& config) {
    daemon_ = std::make_unique<TestDaemon>(config, registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  RunResult Push(const std::vector<std::string>& options = {}, const std::string& branch = "main") {
    std::vector<std::string> args = {"push"};
    for (const auto& option : options) args.insert(args.end(), {"-o", option});
    args.insert(args.end(), {daemon_->Url("web.git"), branch});
    return daemon_->Git(alice_, args, src_);
  }

  std::string TodayTag(const std::string& commit) {
    return TagsFor("web", commit, std::chrono::system_clock::now(), {}).default_tag;
  }

  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

TEST_F(PushOutputTest, ColoursEachPlatformAndTheStatusAndEndsWithASummary) {
  Start("push:\n  color: auto\n");  // the default, said: the harness's is never
  const std::string commit = CommitCopyOnlyApp(src_, "hello");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // Each platform's prefix in its own colour, neither green nor red.
  EXPECT_NE(r.err.find("remote: \x1b[36m[linux/amd64]\x1b[0m STEP 1/2: FROM scratch"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("remote: \x1b[35m[linux/arm64]\x1b[0m STEP 1/2: FROM scratch"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("remote: hephy: build 1 (web) \x1b[32msucceeded\x1b[0m in "),
            std::string::npos)
      << r.err;

  // The summary comes last, after the status, and names what the registry holds.
  const std::string tag = TodayTag(commit);
  RegistryClient registry(registry_.url(), true);
  const auto index = registry.HeadManifest("web", tag);
  ASSERT_TRUE(index);
  const auto status = r.err.find("succeeded\x1b[0m in ");
  const auto summary =
      r.err.find("remote: hephy: \x1b[1mweb\x1b[0m \x1b[32mbuilt\x1b[0m (build 1)");
  ASSERT_NE(summary, std::string::npos) << r.err;
  EXPECT_GT(summary, status);
  const std::string reference = registry_.url() + "/web:" + tag;
  for (const std::string& line :
       {"remote: hephy:   image  " + registry_.url() + "/web@" + *index,
        "remote: hephy:   tags   " + tag + ", web-latest",
        "remote: hephy:   pull   podman pull --tls-verify=false " + reference,
        "remote: hephy:          docker pull " + reference}) {
    const auto at = r.err.find(line);
    EXPECT_NE(at, std::string::npos) << line << "\n" << r.err;
    EXPECT_GT(at, summary) << line;
  }
  // No http.public_url: no page to name.
  EXPECT_EQ(r.err.find("hephy:   page"), std::string::npos) << r.err;
}

TEST_F(PushOutputTest, SummaryNamesTheBuildsPageUnderPublicUrl) {
  Start(
      "push:\n  color: never\nbuilder:\n  platforms: [linux/amd64]\n"
      "http:\n  public_url: https://builds.example.test/hephy/\n");
  CommitCopyOnlyApp(src_, "hello");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remote: hephy: web built (build 1)"), std::string::npos) << r.err;
  EXPECT_NE(
      r.err.find("remote: hephy:   page   https://builds.example.test/hephy/apps/web/builds/1"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(kEsc), std::string::npos) << r.err;
}

TEST_F(PushOutputTest, PushOptionColorNeverGivesPlainText) {
  Start("push:\n  color: auto\nbuilder:\n  platforms: [linux/amd64]\n");
  CommitCopyOnlyApp(src_, "plain");
  const RunResult r = Push({"color=never"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remote: [linux/amd64] STEP 2/2: COPY hello.txt /hello.txt"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("remote: hephy: build 1 (web) succeeded in "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(kEsc), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("ignoring push option"), std::string::npos) << r.err;
}

TEST_F(PushOutputTest, ConfigNeverGivesPlainTextUnlessThePusherAsksAlways) {
  Start("push:\n  color: never\nbuilder:\n  platforms: [linux/amd64]\n");
  CommitCopyOnlyApp(src_, "plain");
  const RunResult plain = Push();
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.err.find("remote: [linux/amd64] STEP 1/2: FROM scratch"), std::string::npos)
      << plain.err;
  EXPECT_EQ(plain.err.find(kEsc), std::string::npos) << plain.err;

  CommitCopyOnlyApp(src_, "coloured");
  const RunResult coloured = Push({"color=always"});
  ASSERT_EQ(coloured.exit_code, 0) << coloured.err;
  EXPECT_NE(coloured.err.find("remote: \x1b[36m[linux/amd64]\x1b[0m STEP 1/2: FROM scratch"),
            std::string::npos)
      << coloured.err;
}

TEST_F(PushOutputTest, FailureNamesThePlatformAndStepBeforeItsLastLines) {
  Start("push:\n  color: auto\nbuilder:\n  platforms: [linux/amd64]\n");
  CommitRunApp(src_, "echo failing on purpose; exit 3");
  const RunResult r = Push();
  ASSERT_NE(r.exit_code, 0) << r.err;
  const std::string platform = "\x1b[36m[linux/amd64]\x1b[0m";
  const auto streamed = r.err.find("remote: " + platform + " failing on purpose");
  const auto failed = r.err.find("remote: hephy: " + platform + " \x1b[31mfailed\x1b[0m after ");
  const auto tail = r.err.find("remote: hephy: " + platform + " its last lines were:");
  ASSERT_NE(streamed, std::string::npos) << r.err;
  ASSERT_NE(failed, std::string::npos) << r.err;
  ASSERT_NE(tail, std::string::npos) << r.err;
  EXPECT_LT(streamed, failed);
  EXPECT_LT(failed, tail);
  // The step is on the failure's own line, and so is why.
  const std::string line = r.err.substr(failed, r.err.find('\n', failed) - failed);
  EXPECT_TRUE(
      std::regex_search(line, std::regex(", in STEP ([0-9])/\\1: RUN \\[\"/bin/busybox\", ")))
      << line;
  EXPECT_NE(line.find("status 3"), std::string::npos) << line;
  EXPECT_NE(r.err.find("remote: hephy: build 1 (web) \x1b[31mfailed\x1b[0m after "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("remote: hephy: \x1b[31mmain was not updated\x1b[0m"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("hephy:   image  "), std::string::npos) << r.err;  // no summary
}

TEST_F(PushOutputTest, ServeSaysHowToTrustItsHostKey) {
  Start("");
  const std::string log = daemon_->Log();
  const std::string keyscan =
      "ssh-keyscan -p " + std::to_string(daemon_->port()) + " 127.0.0.1 >> ~/.ssh/known_hosts";
  EXPECT_NE(log.find(keyscan), std::string::npos) << log;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(log, match, std::regex("SSH host key ssh-ed25519 (SHA256:\\S+)")))
      << log;
  const std::string fingerprint = match[1];

  // Doing what it says: the key scanned is the one serve named, and a
  // client that checks host keys strictly then gets in without a question.
  const auto known_hosts = daemon_->dir() / "known_hosts";
  SpawnOptions scan;
  scan.argv = {"ssh-keyscan", "-t", "ed25519", "-p", std::to_string(daemon_->port()), "127.0.0.1"};
  const RunResult scanned = hephy::Run(scan);
  ASSERT_EQ(scanned.exit_code, 0) << scanned.err;
  std::ofstream(known_hosts) << scanned.out;
  SpawnOptions list;
  list.argv = {"ssh-keygen", "-l", "-f", known_hosts.string()};
  const RunResult listed = hephy::Run(list);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(fingerprint), std::string::npos) << listed.out << "\n" << log;
  const RunResult whoami =
      daemon_->Ssh(alice_, "whoami",
                   {"-o", "StrictHostKeyChecking=yes", "-o",
                    "UserKnownHostsFile=" + known_hosts.string(), "-o", "BatchMode=yes"});
  EXPECT_EQ(whoami.exit_code, 0) << whoami.err;
  EXPECT_NE(whoami.out.find("alice"), std::string::npos) << whoami.out;
}

TEST_F(PushOutputTest, HeadNamesThePushedBranchSoAClonesChecksOutFiles) {
  // New repositories get HEAD on builder.branches' first branch, which
  // nobody pushes here: main is accepted without a build.
  Start("builder:\n  branches: [release]\n");
  CommitCopyOnlyApp(src_, "hello");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remote: hephy: web's HEAD now names main"), std::string::npos) << r.err;
  EXPECT_EQ(GitOk(daemon_->RepoPath("web"), {"symbolic-ref", "HEAD"}), "refs/heads/main\n");

  const auto clone = daemon_->dir() / "clone";
  const RunResult cloned =
      daemon_->Git(alice_, {"clone", daemon_->Url("web.git"), clone.string()}, daemon_->dir());
  ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
  EXPECT_EQ(cloned.err.find("unable to checkout"), std::string::npos) << cloned.err;
  std::ifstream hello(clone / "hello.txt");
  std::string text;
  std::getline(hello, text);
  EXPECT_EQ(text, "hello");
  EXPECT_EQ(GitOk(clone, {"rev-parse", "--abbrev-ref", "HEAD"}), "main\n");

  // Once it exists, HEAD stays where it is.
  GitOk(src_, {"checkout", "-b", "feature"});
  CommitFile(src_, "more.txt", "more\n", "more");
  const RunResult feature = Push({}, "feature");
  ASSERT_EQ(feature.exit_code, 0) << feature.err;
  EXPECT_EQ(feature.err.find("HEAD now names"), std::string::npos) << feature.err;
  EXPECT_EQ(GitOk(daemon_->RepoPath("web"), {"symbolic-ref", "HEAD"}), "refs/heads/main\n");
}

}  // namespace
}  // namespace hephy
