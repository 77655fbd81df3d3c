#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "error_of.h"
#include "hephy/error.h"
#include "hephy/store.h"
#include "test_dir.h"

namespace hephy {
namespace {

class StoreBuildsTest : public ::testing::Test {
 protected:
  StoreBuildsTest() : store_(dir_.path() / "hephy.db") {
    store_.Migrate();
    store_.AddUser("alice", false);
    store_.CreateApp("web", "alice");
    store_.CreateApp("api", std::nullopt);
  }

  NewBuild Push(const std::string& app,
                std::vector<std::string> platforms = {"linux/amd64", "linux/arm64"}) {
    return NewBuild{.app = app,
                    .unit = app,
                    .ref = "refs/heads/main",
                    .old_sha = std::string(40, '0'),
                    .new_sha = "1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b",
                    .pusher = "alice",
                    .key_fingerprint = "SHA256:key",
                    .push_id = "push-1",
                    .platforms = std::move(platforms)};
  }

  Build Create(const std::string& app = "web") { return store_.CreateBuild(Push(app), logs_); }

  TestDir dir_;
  Store store_;
  std::filesystem::path logs_ = dir_.path() / "logs";
};

TEST_F(StoreBuildsTest, RecordsTheTriggerAndTheUpstreamSource) {
  EXPECT_EQ(Create().triggered_by, "push");
  NewBuild scheduled = Push("web");
  scheduled.triggered_by = "schedule";
  scheduled.source_url = "https://example.org/kaniko.git";
  scheduled.source_sha = std::string(40, 'e');
  const Build b = store_.CreateBuild(scheduled, logs_);
  const auto found = store_.FindBuild(b.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->triggered_by, "schedule");
  EXPECT_EQ(found->source_url, "https://example.org/kaniko.git");
  EXPECT_EQ(found->source_sha, std::string(40, 'e'));

  NewBuild cli = Push("web");
  cli.triggered_by = "cli";
  EXPECT_EQ(store_.FindBuild(store_.CreateBuild(cli, logs_).id)->triggered_by, "cli");

  NewBuild odd = Push("web");
  odd.triggered_by = "cron";
  EXPECT_EQ(ErrorOf([&] { store_.CreateBuild(odd, logs_); }),
            "build of web (web): unknown trigger 'cron'");
}

TEST_F(StoreBuildsTest, RemembersTheLastScheduledRebuild) {
  EXPECT_FALSE(store_.LastScheduledRebuild());
  const auto first = std::chrono::system_clock::from_time_t(1795594200);
  store_.RecordScheduledRebuild(first);
  EXPECT_EQ(store_.LastScheduledRebuild(), first);
  store_.RecordScheduledRebuild(first + std::chrono::hours(168));
  EXPECT_EQ(store_.LastScheduledRebuild(), first + std::chrono::hours(168));
}

TEST_F(StoreBuildsTest, CreateRecordsAQueuedBuildWithAQueuedJobPerPlatform) {
  const Build b = Create();
  EXPECT_GT(b.id, 0);
  EXPECT_EQ(b.app, "web");
  EXPECT_EQ(b.ref, "refs/heads/main");
  EXPECT_EQ(b.pusher, "alice");
  EXPECT_EQ(b.key_fingerprint, "SHA256:key");
  EXPECT_EQ(b.push_id, "push-1");
  EXPECT_EQ(b.status, "queued");
  EXPECT_FALSE(b.created_at.empty());
  EXPECT_TRUE(b.started_at.empty());
  EXPECT_TRUE(b.finished_at.empty());
  ASSERT_EQ(b.jobs.size(), 2u);
  EXPECT_EQ(b.jobs[0].platform, "linux/amd64");
  EXPECT_EQ(b.jobs[1].platform, "linux/arm64");
  EXPECT_EQ(b.jobs[1].status, "queued");
  EXPECT_FALSE(b.jobs[1].exit_code);
  EXPECT_EQ(b.jobs[1].log_path, logs_ / std::to_string(b.id) / "linux-arm64.log");
}

TEST_F(StoreBuildsTest, ABuildAndItsJobsRunAndSucceed) {
  const Build created = Create();
  store_.StartBuild(created.id);
  store_.StartJob(created.jobs[0].id, "web-20251014-1a2b3c4-amd64");
  store_.StartJob(created.jobs[1].id, "web-20251014-1a2b3c4-arm64");
  store_.FinishJob(created.jobs[0].id, "succeeded", 0, "sha256:aaa");
  store_.FinishJob(created.jobs[1].id, "succeeded", 0, "sha256:bbb");
  store_.FinishBuild(created.id, "succeeded", "", "sha256:index",
                     {"web-20251014-1a2b3c4", "web-latest"});

  const Build b = *store_.FindBuild(created.id);
  EXPECT_EQ(b.status, "succeeded");
  EXPECT_EQ(b.index_digest, "sha256:index");
  EXPECT_EQ(b.tags, (std::vector<std::string>{"web-20251014-1a2b3c4", "web-latest"}));
  EXPECT_FALSE(b.started_at.empty());
  EXPECT_FALSE(b.finished_at.empty());
  EXPECT_EQ(b.jobs[1].status, "succeeded");
  EXPECT_EQ(b.jobs[1].tag, "web-20251014-1a2b3c4-arm64");
  EXPECT_EQ(b.jobs[1].digest, "sha256:bbb");
  EXPECT_EQ(b.jobs[1].exit_code, 0);
  EXPECT_FALSE(b.jobs[1].started_at.empty());
  EXPECT_FALSE(b.jobs[1].finished_at.empty());
}

TEST_F(StoreBuildsTest, FinishingABuildFinishesItsUnfinishedJobsAlike) {
  const Build created =
      store_.CreateBuild(Push("web", {"linux/amd64", "linux/arm64", "linux/386"}), logs_);
  store_.StartBuild(created.id);
  store_.StartJob(created.jobs[0].id, "t-amd64");
  store_.FinishJob(created.jobs[0].id, "succeeded", 0, "sha256:aaa");
  store_.StartJob(created.jobs[1].id, "t-arm64");
  store_.FinishBuild(created.id, "cancelled", "cancelled by alice", "", {});

  const Build b = *store_.FindBuild(created.id);
  EXPECT_EQ(b.status, "cancelled");
  EXPECT_EQ(b.error, "cancelled by alice");
  EXPECT_EQ(b.jobs[0].status, "succeeded");
  EXPECT_EQ(b.jobs[1].status, "cancelled");  // was running
  EXPECT_EQ(b.jobs[2].status, "cancelled");  // was queued
  EXPECT_FALSE(b.jobs[2].finished_at.empty());
  EXPECT_TRUE(b.jobs[2].started_at.empty());
  EXPECT_FALSE(b.jobs[1].exit_code);
}

TEST_F(StoreBuildsTest, ABuildSucceedsOnlyWhenEveryJobHas) {
  const Build b = Create();
  store_.StartBuild(b.id);
  store_.StartJob(b.jobs[0].id, "t");
  store_.FinishJob(b.jobs[0].id, "succeeded", 0, "sha256:aaa");
  EXPECT_EQ(ErrorOf([&] { store_.FinishBuild(b.id, "succeeded", "", "sha256:i", {}); }),
            "build " + std::to_string(b.id) + " cannot succeed: its job for linux/arm64 is queued");
  store_.StartJob(b.jobs[1].id, "t");
  store_.FinishJob(b.jobs[1].id, "failed", 1, "");
  EXPECT_EQ(ErrorOf([&] { store_.FinishBuild(b.id, "succeeded", "", "sha256:i", {}); }),
            "build " + std::to_string(b.id) + " cannot succeed: its job for linux/arm64 is failed");
  EXPECT_EQ(store_.FindBuild(b.id)->status, "running");
  EXPECT_TRUE(store_.FindBuild(b.id)->tags.empty());
}

TEST_F(StoreBuildsTest, FinishedBuildsAndJobsStayAsTheyEnded) {
  const Build b = Create();
  const std::string name = "build " + std::to_string(b.id);
  store_.StartBuild(b.id);
  EXPECT_EQ(ErrorOf([&] { store_.StartBuild(b.id); }), name + " cannot start: already running");
  store_.StartJob(b.jobs[0].id, "t");
  store_.FinishJob(b.jobs[0].id, "failed", 2, "");
  EXPECT_EQ(ErrorOf([&] { store_.FinishJob(b.jobs[0].id, "succeeded", 0, "sha256:x"); }),
            name + " (linux/amd64) cannot finish: already finished (failed)");
  EXPECT_EQ(ErrorOf([&] { store_.StartJob(b.jobs[0].id, "t"); }),
            name + " (linux/amd64) cannot start: already finished (failed)");
  store_.FinishBuild(b.id, "failed", "linux/amd64: exit 2", "", {});
  EXPECT_EQ(ErrorOf([&] { store_.FinishBuild(b.id, "cancelled", "", "", {}); }),
            name + " cannot finish: already finished (failed)");
  EXPECT_EQ(ErrorOf([&] { store_.StartBuild(b.id); }),
            name + " cannot start: already finished (failed)");
  EXPECT_EQ(store_.FindBuild(b.id)->error, "linux/amd64: exit 2");
  EXPECT_EQ(store_.FindBuild(b.id)->jobs[0].exit_code, 2);
}

TEST_F(StoreBuildsTest, StatusesAreChecked) {
  const Build b = Create();
  const std::string name = "build " + std::to_string(b.id);
  EXPECT_EQ(
      ErrorOf([&] { store_.FinishBuild(b.id, "done", "", "", {}); }),
      name + ": unknown status 'done' (expected succeeded, failed, cancelled or interrupted)");
  EXPECT_EQ(ErrorOf([&] { store_.FinishBuild(b.id, "running", "", "", {}); }),
            name +
                ": 'running' is not a final status (expected succeeded, failed, cancelled or "
                "interrupted)");
  EXPECT_NE(ErrorOf([&] { store_.FinishJob(b.jobs[0].id, "Failed", 1, ""); }), "");
  EXPECT_NE(ErrorOf([&] { store_.FinishJob(b.jobs[0].id, "queued", 1, ""); }), "");
  EXPECT_EQ(store_.FindBuild(b.id)->status, "queued");
  EXPECT_EQ(store_.FindBuild(b.id)->jobs[0].status, "queued");
  EXPECT_TRUE(IsTerminalBuildStatus("interrupted"));
  EXPECT_FALSE(IsTerminalBuildStatus("running"));
  EXPECT_FALSE(IsTerminalBuildStatus("done"));
}

TEST_F(StoreBuildsTest, UnknownBuildsAndJobsAreNamed) {
  EXPECT_FALSE(store_.FindBuild(42));
  EXPECT_EQ(ErrorOf([&] { store_.StartBuild(42); }), "build 42: no such build");
  EXPECT_EQ(ErrorOf([&] { store_.FinishBuild(42, "failed", "", "", {}); }),
            "build 42: no such build");
  EXPECT_EQ(ErrorOf([&] { store_.StartJob(42, "t"); }), "build job 42: no such job");
  EXPECT_EQ(ErrorOf([&] { store_.FinishJob(42, "failed", 1, ""); }), "build job 42: no such job");
}

TEST_F(StoreBuildsTest, CreateRefusesUnknownAppsAndBadPlatforms) {
  EXPECT_EQ(ErrorOf([&] { Create("nope"); }), "no app 'nope'");
  EXPECT_EQ(ErrorOf([&] { store_.CreateBuild(Push("web", {}), logs_); }),
            "build of web (web): no platform to build for");
  EXPECT_EQ(ErrorOf([&] {
              store_.CreateBuild(Push("web", {"linux/amd64", "../etc"}), logs_);
            }),
            "build of web (web): invalid platform '../etc' (expected os/arch[/variant])");
  EXPECT_EQ(ErrorOf([&] {
              store_.CreateBuild(Push("web", {"linux/amd64", "linux/amd64"}), logs_);
            }),
            "build of web (web): platform 'linux/amd64' is given twice");
  EXPECT_TRUE(store_.ListBuilds(std::nullopt).empty());
}

TEST_F(StoreBuildsTest, ListIsNewestFirstLimitedAndPerApp) {
  const int64_t first = Create("web").id;
  const int64_t second = Create("api").id;
  const int64_t third = Create("web").id;
  auto ids = [](const std::vector<Build>& builds) {
    std::vector<int64_t> ids;
    for (const auto& b : builds) ids.push_back(b.id);
    return ids;
  };
  EXPECT_EQ(ids(store_.ListBuilds(std::nullopt)), (std::vector<int64_t>{third, second, first}));
  EXPECT_EQ(ids(store_.ListBuilds(std::nullopt, 2)), (std::vector<int64_t>{third, second}));
  EXPECT_EQ(ids(store_.ListBuilds("web")), (std::vector<int64_t>{third, first}));
  EXPECT_EQ(ids(store_.ListBuilds("web", 1)), (std::vector<int64_t>{third}));
  EXPECT_EQ(store_.ListBuilds("api")[0].jobs.size(), 2u);
  EXPECT_EQ(ErrorOf([&] { store_.ListBuilds("nope"); }), "no app 'nope'");
  EXPECT_EQ(ErrorOf([&] { store_.ListBuilds(std::nullopt, 0); }),
            "limit must be at least 1, got 0");
}

TEST_F(StoreBuildsTest, BuildsLeftUnfinishedByAStoppedHephydBecomeInterrupted) {
  const Build queued = Create();
  const Build running = Create();
  const Build done = Create();
  store_.StartBuild(running.id);
  store_.StartJob(running.jobs[0].id, "t");
  store_.FinishJob(running.jobs[0].id, "succeeded", 0, "sha256:a");
  store_.StartJob(running.jobs[1].id, "t");
  store_.StartBuild(done.id);
  store_.FinishBuild(done.id, "failed", "boom", "", {});

  EXPECT_EQ(store_.MarkInterruptedBuilds(), (std::vector<int64_t>{queued.id, running.id}));
  const Build q = *store_.FindBuild(queued.id);
  EXPECT_EQ(q.status, "interrupted");
  EXPECT_EQ(q.error, "hephyd stopped before the build finished");
  EXPECT_FALSE(q.finished_at.empty());
  EXPECT_EQ(q.jobs[0].status, "interrupted");
  const Build r = *store_.FindBuild(running.id);
  EXPECT_EQ(r.jobs[0].status, "succeeded");
  EXPECT_EQ(r.jobs[1].status, "interrupted");
  EXPECT_EQ(store_.FindBuild(done.id)->status, "failed");
  EXPECT_EQ(store_.FindBuild(done.id)->error, "boom");
  EXPECT_TRUE(store_.MarkInterruptedBuilds().empty());
}

TEST_F(StoreBuildsTest, IndexTagsKeepTheirOrderAndAreRecordedOnce) {
  const Build b = store_.CreateBuild(Push("web", {"linux/amd64"}), logs_);
  store_.StartBuild(b.id);
  store_.StartJob(b.jobs[0].id, "t");
  store_.FinishJob(b.jobs[0].id, "succeeded", 0, "sha256:a");
  store_.FinishBuild(b.id, "succeeded", "", "sha256:i",
                     {"web-v2", "web-latest", "web-v2", "web-1"});
  EXPECT_EQ(store_.FindBuild(b.id)->tags,
            (std::vector<std::string>{"web-v2", "web-latest", "web-1"}));
}

TEST_F(StoreBuildsTest, ThePusherIsKeptWhenTheUserIsRemoved) {
  const Build b = Create();
  store_.RemoveUser("alice");
  EXPECT_EQ(store_.FindBuild(b.id)->pusher, "alice");
}

TEST_F(StoreBuildsTest, AnAppsBuildsGoWithIt) {
  const Build b = Create();
  const int64_t job = b.jobs[0].id;
  SQLite::Database db((dir_.path() / "hephy.db").string(), SQLite::OPEN_READWRITE);
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("DELETE FROM apps WHERE name = 'web'");
  EXPECT_FALSE(store_.FindBuild(b.id));
  EXPECT_EQ(ErrorOf([&] { store_.StartJob(job, "t"); }),
            "build job " + std::to_string(job) + ": no such job");
}

TEST_F(StoreBuildsTest, ASecondConnectionSeesProgressAtOnce) {
  Store other(dir_.path() / "hephy.db");
  const Build b = Create();
  store_.StartBuild(b.id);
  EXPECT_EQ(other.FindBuild(b.id)->status, "running");
}

TEST_F(StoreBuildsTest, DeletesOnlyFinishedBuildsWithTheirJobsAndTags) {
  const Build done = Create();
  store_.StartBuild(done.id);
  for (const auto& job : done.jobs) store_.FinishJob(job.id, "succeeded", 0, "sha256:x");
  store_.FinishBuild(done.id, "succeeded", "", "sha256:i", {"web-latest"});
  const Build running = Create();
  store_.StartBuild(running.id);
  const Build queued = Create("api");

  const auto ages = store_.ListBuildAges();
  ASSERT_EQ(ages.size(), 3u);
  EXPECT_EQ(ages[0].id, done.id);
  EXPECT_EQ(ages[0].app, "web");
  EXPECT_EQ(ages[0].status, "succeeded");
  EXPECT_EQ(ages[0].created_at.size(), 19u);
  EXPECT_EQ(ages[2].app, "api");

  EXPECT_EQ(store_.DeleteFinishedBuilds({done.id, running.id, queued.id, 999}),
            std::vector<int64_t>{done.id});
  EXPECT_FALSE(store_.FindBuild(done.id));
  EXPECT_TRUE(store_.FindBuild(running.id));
  EXPECT_TRUE(store_.FindBuild(queued.id));
  SQLite::Database db(dir_.path() / "hephy.db");
  EXPECT_EQ(
      db.execAndGet("SELECT count(*) FROM build_jobs WHERE build_id = " + std::to_string(done.id))
          .getInt(),
      0);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM build_tags").getInt(), 0);
}

}  // namespace
}  // namespace hephy
