// Build on push, end to end: real git over real ssh to a real hephyd, real
// buildah for every platform, a real docker-registry checked through its
// HTTP API.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "app_commits.h"
#include "build/image_tags.h"
#include "foreign_busybox.h"
#include "hephy/registry_client.h"
#include "output_watcher.h"
#include "processes.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;

class BuildTest : public ::testing::Test {
 protected:
  void Start(const std::string& config = "") {
    daemon_ = std::make_unique<TestDaemon>(config, registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  std::string CommitCopyOnlyApp(const std::string& greeting) {
    return hephy::CommitCopyOnlyApp(src_, greeting);
  }
  std::string CommitRunApp(const std::string& script) { return hephy::CommitRunApp(src_, script); }

  std::string Head() { return GitOk(src_, {"rev-parse", "HEAD"}).substr(0, 40); }

  RunResult Push(const std::string& app = "web") {
    return daemon_->Git(alice_, {"push", daemon_->Url(app + ".git"), "main"}, src_);
  }

  std::string StoredRef(const std::string& app = "web") {
    SpawnOptions options;
    options.argv = {
        "git",      "--git-dir",      daemon_->RepoPath(app).string(), "rev-parse", "-q",
        "--verify", "refs/heads/main"};
    const RunResult r = hephy::Run(options);
    return r.exit_code == 0 ? r.out.substr(0, 40) : "";
  }

  json BuildJson(int id) {
    const RunResult r = daemon_->Cli({"builds", "show", std::to_string(id), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  std::string TodayTag(const std::string& unit, const std::string& commit) {
    return TagsFor(unit, commit, std::chrono::system_clock::now(), {}).default_tag;
  }

  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

TEST_F(BuildTest, PushBuildsEveryPlatformAndTagsAMultiArchIndex) {
  Start();
  const std::string commit = CommitCopyOnlyApp("hello");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(StoredRef(), commit);

  // Both platforms' logs reached the pusher, prefixed, through git's sideband.
  for (const std::string platform : {"linux/amd64", "linux/arm64"}) {
    EXPECT_NE(r.err.find("remote: [" + platform + "] STEP 1/2: FROM scratch"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("remote: [" + platform + "] STEP 2/2: COPY hello.txt /hello.txt"),
              std::string::npos)
        << r.err;
  }

  // The index, under both tags, lists one image per platform, and each
  // image's config says its architecture.
  const std::string tag = TodayTag("web", commit);
  EXPECT_NE(r.err.find("remote: hephy: tagged " + tag + ", web-latest"), std::string::npos);
  RegistryClient registry(registry_.url(), true);
  const auto index = registry.GetManifest("web", tag);
  EXPECT_EQ(index.media_type, "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(registry.GetManifest("web", "web-latest").digest, index.digest);
  const json body = json::parse(index.body);
  EXPECT_EQ(body["annotations"]["org.opencontainers.image.revision"], commit);
  ASSERT_EQ(body["manifests"].size(), 2u);
  std::map<std::string, std::string> by_arch;
  for (const auto& child : body["manifests"]) {
    const std::string arch = child["platform"]["architecture"];
    EXPECT_EQ(child["platform"]["os"], "linux");
    const auto manifest = registry.GetManifest("web", child["digest"]);
    const json config =
        json::parse(registry.GetBlob("web", json::parse(manifest.body)["config"]["digest"]));
    EXPECT_EQ(config["architecture"], arch);
    EXPECT_EQ(registry.HeadManifest("web", tag + "-" + arch), child["digest"].get<std::string>());
    by_arch[arch] = child["digest"];
  }
  EXPECT_EQ(by_arch.size(), 2u);
  EXPECT_TRUE(by_arch.contains("amd64") && by_arch.contains("arm64"));

  // The record says the same.
  const json build = BuildJson(1);
  EXPECT_EQ(build["status"], "succeeded");
  EXPECT_EQ(build["app"], "web");
  EXPECT_EQ(build["ref"], "refs/heads/main");
  EXPECT_EQ(build["new_sha"], commit);
  EXPECT_EQ(build["pusher"], "alice");
  EXPECT_EQ(build["index_digest"], index.digest);
  EXPECT_EQ(build["tags"], json({tag, "web-latest"}));
  ASSERT_EQ(build["jobs"].size(), 2u);
  for (const auto& job : build["jobs"]) {
    const std::string arch = job["platform"].get<std::string>().substr(6);
    EXPECT_EQ(job["status"], "succeeded");
    EXPECT_EQ(job["digest"], by_arch[arch]);
    EXPECT_EQ(job["tag"], tag + "-" + arch);
  }

  // The stored log is what the pusher saw.
  const RunResult logs = daemon_->Cli({"logs", "1", "--platform", "linux/arm64"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("STEP 2/2: COPY hello.txt /hello.txt"), std::string::npos) << logs.out;
  // Nothing is left of the build's scratch space.
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->data_dir() / "builds"));
}

TEST_F(BuildTest, FailingPlatformRejectsThePushAndCancelsTheOthers) {
  if (const std::string why = WhyArm64CannotRun(); !why.empty()) GTEST_SKIP() << why;
  Start();
  const std::string good = CommitCopyOnlyApp("first");
  ASSERT_EQ(Push().exit_code, 0);
  RegistryClient registry(registry_.url(), true);
  const auto latest = registry.HeadManifest("web", "web-latest");
  ASSERT_TRUE(latest);

  // amd64 would take a minute; arm64 fails at once.
  const std::string bad = CommitRunApp(
      "if [ $(/bin/busybox uname -m) = aarch64 ]; then echo failing on purpose; exit 3; fi; "
      "echo started; /bin/busybox sleep 60");
  const auto start = std::chrono::steady_clock::now();
  const RunResult r = Push();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("! [remote rejected] main -> main (pre-receive hook declined)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("remote: [linux/arm64] failing on purpose"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("remote: hephy: [linux/arm64] failed after"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("remote: hephy: build 2 (web) failed after"), std::string::npos) << r.err;

  // The ref and the index tags are where they were; the new commit has no tag.
  EXPECT_EQ(StoredRef(), good);
  EXPECT_EQ(registry.HeadManifest("web", "web-latest"), latest);
  EXPECT_FALSE(registry.HeadManifest("web", TodayTag("web", bad)));
  EXPECT_FALSE(registry.HeadManifest("web", TodayTag("web", bad) + "-amd64"));

  const json build = BuildJson(2);
  EXPECT_EQ(build["status"], "failed");
  EXPECT_NE(build["error"].get<std::string>().find("linux/arm64: buildah build exited"),
            std::string::npos)
      << build.dump();
  EXPECT_TRUE(build["index_digest"].is_null());
  std::map<std::string, std::string> status;
  for (const auto& job : build["jobs"]) status[job["platform"]] = job["status"];
  EXPECT_EQ(status["linux/arm64"], "failed");
  EXPECT_EQ(status["linux/amd64"], "cancelled");
}

TEST_F(BuildTest, UnreachableRegistryRejectsThePushNamingIt) {
  Start("builder:\n  platforms: [linux/amd64]\n");
  registry_.Stop();
  CommitCopyOnlyApp("nowhere to go");
  const RunResult r = Push();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("failed after"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("buildah push to " + registry_.url() + "/web:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("connection refused"), std::string::npos) << r.err;
  EXPECT_EQ(StoredRef(), "");
  EXPECT_EQ(BuildJson(1)["status"], "failed");
}

TEST_F(BuildTest, DisconnectMidBuildKillsEveryJobAndRecordsTheBuildCancelled) {
  Start("builder:\n  platforms: [linux/amd64]\n");
  // In the background, as a miner would: runc runs a RUN step in a session
  // of its own, out of buildah's process group.
  CommitRunApp("/bin/busybox sleep 3607 & echo started; wait");
  Child git = daemon_->GitInBackground(
      alice_, {"push", "--progress", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher output(git.stderr_fd().get());
  ASSERT_TRUE(output.WaitFor("remote: [linux/amd64] started")) << output.Text();

  const auto gone = std::chrono::steady_clock::now();
  git.KillGroup(SIGKILL);
  git.Wait();
  ASSERT_TRUE(daemon_->WaitForLog("build 1 app=web unit=web")) << daemon_->Log();
  EXPECT_LT(std::chrono::steady_clock::now() - gone, std::chrono::seconds(2));

  EXPECT_EQ(BuildJson(1)["status"], "cancelled");
  EXPECT_EQ(BuildJson(1)["jobs"][0]["status"], "cancelled");
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->data_dir() / "builds"));
  // No buildah, nor what the RUN step started, outlives the build.
  EXPECT_TRUE(ProcessesMatching("/bin/busybox sleep 3607").empty());
  EXPECT_TRUE(ProcessesMatching(daemon_->data_dir().string() + "/builds").empty());
  EXPECT_TRUE(ProcessesMatching(daemon_->data_dir().string() + "/cache").empty());
  // git, killed by the SSH session on the client's hang-up, is gone once it says so.
  ASSERT_TRUE(daemon_->WaitForLog("client disconnected; git killed")) << daemon_->Log();
  EXPECT_TRUE(ProcessesMatching(daemon_->data_dir().string()).empty());
  EXPECT_EQ(StoredRef(), "");
}

TEST_F(BuildTest, SecondPushToTheSameAppWaitsWhileOtherAppsBuild) {
  Start("builder:\n  platforms: [linux/amd64]\n  branches: [main, release]\n");
  CommitRunApp("echo started; /bin/busybox sleep 60");
  Child slow = daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher slow_output(slow.stderr_fd().get());
  ASSERT_TRUE(slow_output.WaitFor("remote: [linux/amd64] started")) << slow_output.Text();

  // Another app builds at once.
  CommitCopyOnlyApp("other app");
  const RunResult other = Push("api");
  EXPECT_EQ(other.exit_code, 0) << other.err;

  // The same app waits for the build in progress...
  Child waiting =
      daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main:release"}, src_);
  OutputWatcher waiting_output(waiting.stderr_fd().get());
  ASSERT_TRUE(waiting_output.WaitFor("another build of web is running; build 3 waits for it"))
      << waiting_output.Text();
  // ...and builds once that one has gone (its pusher gave up).
  slow.KillGroup(SIGKILL);
  slow.Wait();
  waiting_output.Join();
  EXPECT_EQ(waiting.Wait(), 0) << waiting_output.Text();
  EXPECT_EQ(BuildJson(1)["status"], "cancelled");
  EXPECT_EQ(BuildJson(3)["status"], "succeeded");
}

TEST_F(BuildTest, BuildsLeftRunningByACrashAreMarkedInterrupted) {
  Start("builder:\n  platforms: [linux/amd64]\n");
  CommitRunApp("echo started; /bin/busybox sleep 60");
  Child git = daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher output(git.stderr_fd().get());
  ASSERT_TRUE(output.WaitFor("remote: [linux/amd64] started")) << output.Text();
  daemon_->Kill();
  git.Wait();

  daemon_->Start();
  EXPECT_TRUE(daemon_->WaitForLog("left unfinished by the last hephyd as interrupted: 1"))
      << daemon_->Log();
  const json build = BuildJson(1);
  EXPECT_EQ(build["status"], "interrupted");
  EXPECT_EQ(build["jobs"][0]["status"], "interrupted");
  // The crashed hephyd's buildah was found and stopped at start.
  EXPECT_TRUE(ProcessesMatching(daemon_->data_dir().string()).empty());
}

}  // namespace
}  // namespace hephy
