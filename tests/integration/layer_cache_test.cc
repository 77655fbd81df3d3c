// The buildah executor's layer cache, through real pushes: a second push
// reuses the steps that did not change, never another app's, a corrupt
// entry or a moved base tag starts over, -o no-cache and scheduled rebuilds
// build everything, and the cache stays under builder.cache.max_size. Real
// hephyd, ssh, git, buildah and docker-registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "test_daemon.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// The RUN step's own output: it shows only when the step runs (its command
// line, which buildah shows either way, says "ran-the-$w-step").
constexpr char kRan[] = "ran-the-slow-step";

class LayerCachePushTest : public ::testing::Test {
 protected:
  void Start(const std::string& builder = "") {
    daemon_ = std::make_unique<TestDaemon>("builder:\n  platforms: [linux/amd64]\n" + builder,
                                           registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    PushBase("one");
  }

  // base:1 in the registry: busybox and /base.txt saying `marker`, built
  // with buildah by hand, as another team's image would be.
  void PushBase(const std::string& marker) {
    const auto context = base_dir_.path() / ("context-" + marker);
    std::filesystem::create_directories(context / "bin");
    std::filesystem::copy_file("/bin/busybox", context / "bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(context / "base.txt") << marker << "\n";
    std::ofstream(context / "Dockerfile") << "FROM scratch\nCOPY . /\n";
    const std::vector<std::string> buildah = {"buildah",
                                              "--root",
                                              (base_dir_.path() / "storage").string(),
                                              "--runroot",
                                              (base_dir_.path() / "run").string(),
                                              "--storage-driver",
                                              "vfs"};
    auto build = buildah;
    build.insert(build.end(), {"build", "--isolation", "chroot", "--layers=false", "--tag",
                               BaseImage(), context.string()});
    const RunResult built = hephy::Run({.argv = build});
    ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
    auto push = buildah;
    push.insert(push.end(),
                {"push", "--quiet", "--tls-verify=false", BaseImage(), "docker://" + BaseImage()});
    const RunResult pushed = hephy::Run({.argv = push});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.out << pushed.err;
  }

  std::string BaseImage() const { return registry_.url() + "/base:1"; }

  // FROM base:1, a RUN step that says "ran-the-WORD-step" when it runs,
  // then app.txt.
  void Commit(const std::string& app_text, const std::string& word = "slow") {
    std::ofstream(src_ / "app.txt") << app_text << "\n";
    GitOk(src_, {"add", "app.txt"});
    CommitFile(src_, "Dockerfile",
               "FROM " + BaseImage() +
                   "\n"
                   "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"w=" +
                   word +
                   "; echo ran-the-$w-step base=$(cat /base.txt)\"]\n"
                   "COPY app.txt /app.txt\n",
               "app " + app_text);
  }

  RunResult Push(const std::string& app = "web", const std::vector<std::string>& options = {}) {
    std::vector<std::string> args = {"push"};
    for (const auto& option : options) args.insert(args.end(), {"-o", option});
    args.insert(args.end(), {"--force", daemon_->Url(app + ".git"), "main"});
    return daemon_->Git(alice_, args, src_);
  }

  std::filesystem::path EntryOf(const std::string& app) const {
    return daemon_->data_dir() / "cache" / "buildah" / app / app / "linux-amd64";
  }

  // Once the job that pushed has let the entry go (after the push returns,
  // hephyd drops what the entry no longer needs): the `jobs`th time.
  void WaitUntilReleased(const std::string& app, size_t jobs) {
    ASSERT_TRUE(daemon_->WaitForLogCount(
        "layer cache of " + app + "/" + app + " linux/amd64: released", jobs))
        << daemon_->Log();
  }

  // The images an app's cache entry holds.
  size_t ImagesIn(const std::string& app) const {
    const RunResult listed =
        hephy::Run({.argv = {"buildah", "--root", (EntryOf(app) / "storage").string(), "--runroot",
                             (EntryOf(app) / "run").string(), "--storage-driver", "vfs", "images",
                             "--all", "--quiet"}});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    return static_cast<size_t>(std::count(listed.out.begin(), listed.out.end(), '\n'));
  }

  TestDir base_dir_;
  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

TEST_F(LayerCachePushTest, ASecondPushReusesEveryStepBeforeTheChangedOne) {
  Start();
  Commit("first");
  const RunResult first = Push();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(Has(first.err, kRan)) << first.err;
  EXPECT_TRUE(Has(first.err, "[linux/amd64] hephy: 0 of 2 steps from the layer cache"))
      << first.err;
  // A clean build has nothing to warn of: hephyd passes no build arg the
  // Dockerfile does not declare, and buildah's own are not its business.
  EXPECT_FALSE(Has(first.err, "[Warning]")) << first.err;

  Commit("second");
  const RunResult second = Push();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_FALSE(Has(second.err, kRan)) << second.err;
  EXPECT_EQ(Count(second.err, "[linux/amd64] --> Using cache "), 1u) << second.err;
  EXPECT_TRUE(Has(second.err, "[linux/amd64] hephy: 1 of 2 steps from the layer cache"))
      << second.err;
  EXPECT_FALSE(Has(second.err, "[Warning]")) << second.err;

  // What no later build can reuse is dropped: the entry holds the base,
  // the RUN step and the newest COPY step, however many pushes came.
  Commit("third");
  ASSERT_EQ(Push().exit_code, 0);
  WaitUntilReleased("web", 3);
  EXPECT_EQ(ImagesIn("web"), 3u);

  const RunResult listed = daemon_->Cli({"cache", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(Has(listed.out, "web  web   linux/amd64")) << listed.out;
  EXPECT_TRUE(Has(listed.out, "1 entry, ")) << listed.out;
}

TEST_F(LayerCachePushTest, AChangedEarlyStepRebuildsTheStepsAfterIt) {
  Start();
  Commit("same");
  ASSERT_EQ(Push().exit_code, 0);
  Commit("same", "changed");
  const RunResult changed = Push();
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_TRUE(Has(changed.err, "ran-the-changed-step base=one")) << changed.err;
  EXPECT_FALSE(Has(changed.err, "Using cache")) << changed.err;
  EXPECT_TRUE(Has(changed.err, "hephy: 0 of 2 steps from the layer cache")) << changed.err;
}

TEST_F(LayerCachePushTest, AnotherAppWithTheSameDockerfileDoesNotShareTheCache) {
  Start();
  Commit("same");
  ASSERT_EQ(Push("web").exit_code, 0);
  const RunResult other = Push("shop");
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_TRUE(Has(other.err, kRan)) << other.err;
  EXPECT_FALSE(Has(other.err, "Using cache")) << other.err;
  WaitUntilReleased("shop", 1);
  EXPECT_TRUE(std::filesystem::exists(EntryOf("web")));
  EXPECT_TRUE(std::filesystem::exists(EntryOf("shop")));
}

TEST_F(LayerCachePushTest, NoCacheBuildsEveryStepAndLeavesFreshLayersForTheNextPush) {
  Start();
  Commit("first");
  ASSERT_EQ(Push().exit_code, 0);
  Commit("second");
  const RunResult fresh = Push("web", {"no-cache"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_TRUE(Has(fresh.err, "for linux/amd64 without the layer cache")) << fresh.err;
  EXPECT_TRUE(Has(fresh.err, kRan)) << fresh.err;
  EXPECT_FALSE(Has(fresh.err, "Using cache")) << fresh.err;

  Commit("third");
  const RunResult next = Push();
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_FALSE(Has(next.err, kRan)) << next.err;

  // `hephyd rebuild --no-cache` likewise.
  const RunResult rebuilt = daemon_->Cli({"rebuild", "--no-cache", "web"});
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.out << rebuilt.err;
  EXPECT_TRUE(Has(rebuilt.out, kRan)) << rebuilt.out;
  const RunResult cached = daemon_->Cli({"rebuild", "web"});
  ASSERT_EQ(cached.exit_code, 0) << cached.out << cached.err;
  EXPECT_FALSE(Has(cached.out, kRan)) << cached.out;
  EXPECT_TRUE(Has(cached.out, "hephy: 2 of 2 steps from the layer cache")) << cached.out;
}

TEST_F(LayerCachePushTest, ScheduledRebuildsBuildEveryStep) {
  Start("  rebuild_schedule: every 2s\n");
  Commit("first");
  std::ofstream(src_ / "rebuild-weekly.txt") << "web\n";
  GitOk(src_, {"add", "rebuild-weekly.txt"});
  GitOk(src_, {"commit", "-q", "-m", "weekly"});
  ASSERT_EQ(Push().exit_code, 0);
  ASSERT_TRUE(daemon_->WaitForLog("web: build 2 (web) succeeded", std::chrono::seconds(90)))
      << daemon_->Log();
  const RunResult log = daemon_->Cli({"logs", "2"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_TRUE(Has(log.out, kRan)) << log.out;
  EXPECT_FALSE(Has(log.out, "Using cache")) << log.out;
}

TEST_F(LayerCachePushTest, AMovedBaseTagIsPulledAgain) {
  Start();
  Commit("first");
  ASSERT_EQ(Push().exit_code, 0);
  PushBase("two");
  Commit("second");
  const RunResult moved = Push();
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_TRUE(Has(moved.err, std::string(kRan) + " base=two")) << moved.err;
  EXPECT_FALSE(Has(moved.err, "Using cache")) << moved.err;
}

TEST_F(LayerCachePushTest, ACorruptEntryIsEmptiedAndTheBuildStartsOver) {
  Start();
  Commit("first");
  ASSERT_EQ(Push().exit_code, 0);
  WaitUntilReleased("web", 1);
  const auto layers = EntryOf("web") / "storage" / "vfs-layers" / "layers.json";
  ASSERT_TRUE(std::filesystem::exists(layers));
  std::ofstream(layers, std::ios::trunc) << "{ not json";

  Commit("second");
  const RunResult recovered = Push();
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_TRUE(Has(recovered.err,
                  "hephy: warning: the layer cache cannot be read (`buildah images` failed); it "
                  "was emptied and this build starts from nothing"))
      << recovered.err;
  EXPECT_TRUE(Has(recovered.err, kRan)) << recovered.err;

  Commit("third");
  const RunResult next = Push();
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_FALSE(Has(next.err, kRan)) << next.err;
}

TEST_F(LayerCachePushTest, TheLeastRecentlyUsedEntryGoesAtMaxSize) {
  // One entry (busybox in three vfs layers, about 6 MiB) fits; two do not.
  Start("  cache: { max_size: 10m }\n");
  Commit("first");
  ASSERT_EQ(Push("web").exit_code, 0);
  ASSERT_EQ(Push("shop").exit_code, 0);
  EXPECT_TRUE(daemon_->WaitForLog("layer cache: removed web/web linux/amd64")) << daemon_->Log();
  WaitUntilReleased("shop", 1);
  EXPECT_FALSE(std::filesystem::exists(EntryOf("web")));
  EXPECT_TRUE(std::filesystem::exists(EntryOf("shop")));

  Commit("second");
  const RunResult again = Push("web");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(Has(again.err, kRan)) << again.err;
}

TEST_F(LayerCachePushTest, PruneEmptiesAnAppsCache) {
  Start();
  Commit("first");
  ASSERT_EQ(Push("web").exit_code, 0);
  ASSERT_EQ(Push("shop").exit_code, 0);
  WaitUntilReleased("web", 1);
  WaitUntilReleased("shop", 1);
  const RunResult pruned = daemon_->Cli({"cache", "prune", "web"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_TRUE(Has(pruned.out, "removed web/web linux/amd64 (")) << pruned.out;
  EXPECT_FALSE(std::filesystem::exists(EntryOf("web")));
  EXPECT_TRUE(std::filesystem::exists(EntryOf("shop")));
  const RunResult audit = daemon_->Cli({"audit"});
  EXPECT_TRUE(Has(audit.out, "cache.prune")) << audit.out;

  // Over SSH, with the caller's rights: the owner sees and prunes her app's
  // cache, not every app's; another user neither.
  const RunResult mine = daemon_->Ssh(alice_, "cache list shop");
  EXPECT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_TRUE(Has(mine.out, "shop  shop  linux/amd64")) << mine.out;
  const RunResult every = daemon_->Ssh(alice_, "cache prune");
  EXPECT_NE(every.exit_code, 0);
  EXPECT_TRUE(Has(every.err, "admins only")) << every.err;
  const TestKey bob = daemon_->AddUser("bob");
  const RunResult other = daemon_->Ssh(bob, "cache prune shop");
  EXPECT_NE(other.exit_code, 0);
  EXPECT_TRUE(Has(other.err, "no app 'shop'")) << other.err;
  EXPECT_TRUE(std::filesystem::exists(EntryOf("shop")));

  Commit("second");
  const RunResult rebuilt = Push("web");
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.err;
  EXPECT_TRUE(Has(rebuilt.err, kRan)) << rebuilt.err;

  // Deleting an app takes its cache along: a new app of the same name
  // starts with nothing of the old one's.
  const RunResult deleted = daemon_->Cli({"apps", "delete", "shop", "--confirm", "shop"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.out << deleted.err;
  EXPECT_FALSE(std::filesystem::exists(EntryOf("shop")));
}

}  // namespace
}  // namespace hephy
