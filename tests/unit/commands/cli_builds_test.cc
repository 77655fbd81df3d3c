// hephyd builds list | show and hephyd logs, against builds recorded with the Store.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_fixture.h"
#include "hephy/store.h"

namespace hephy {
namespace {

using namespace std::chrono_literals;

const std::string kOldSha(40, '0');
const std::string kNewSha = "1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b";

class BuildsCliTest : public CliTest {
 protected:
  BuildsCliTest() {
    std::filesystem::create_directories(data_dir());
    store_ = std::make_unique<Store>(data_dir() / "hephy.db");
    store_->Migrate();
    store_->AddUser("alice", false);
    store_->CreateApp("web", "alice");
    store_->CreateApp("api", std::nullopt);
  }

  Build Create(const std::string& app,
               std::vector<std::string> platforms = {"linux/amd64", "linux/arm64"}) {
    return store_->CreateBuild({.app = app,
                                .unit = app,
                                .ref = "refs/heads/main",
                                .old_sha = kOldSha,
                                .new_sha = kNewSha,
                                .pusher = "alice",
                                .key_fingerprint = "SHA256:key",
                                .push_id = "push-1",
                                .platforms = std::move(platforms)},
                               data_dir() / "logs");
  }

  // Gives the build and its jobs fixed times, for durations to print.
  void SetTimes(int64_t build_id, const std::string& started, const std::string& finished) {
    SQLite::Database db((data_dir() / "hephy.db").string(), SQLite::OPEN_READWRITE);
    for (const char* sql :
         {"UPDATE builds SET created_at = ?1, started_at = ?1, finished_at = ?2 WHERE id = ?3",
          "UPDATE build_jobs SET started_at = ?1, finished_at = ?2 WHERE build_id = ?3"}) {
      SQLite::Statement update(db, sql);
      update.bind(1, started);
      update.bind(2, finished);
      update.bind(3, build_id);
      update.exec();
    }
  }

  // A build of web whose amd64 job succeeded and arm64 job failed.
  Build Failed() {
    const Build b = Create("web");
    store_->StartBuild(b.id);
    store_->StartJob(b.jobs[0].id, "web-20251014-1a2b3c4-amd64");
    store_->StartJob(b.jobs[1].id, "web-20251014-1a2b3c4-arm64");
    store_->FinishJob(b.jobs[0].id, "succeeded", 0, "sha256:aaa");
    store_->FinishJob(b.jobs[1].id, "failed", 1, "");
    store_->FinishBuild(b.id, "failed", "linux/arm64: build exited with status 1", "", {});
    SetTimes(b.id, "2025-10-14 10:00:00", "2025-10-14 10:01:05");
    return *store_->FindBuild(b.id);
  }

  // A succeeded build of web, with its index tags.
  Build Succeeded() {
    const Build b = Create("web", {"linux/amd64"});
    store_->StartBuild(b.id);
    store_->StartJob(b.jobs[0].id, "web-20251014-1a2b3c4-amd64");
    store_->FinishJob(b.jobs[0].id, "succeeded", 0, "sha256:aaa");
    store_->FinishBuild(b.id, "succeeded", "", "sha256:index",
                        {"web-20251014-1a2b3c4", "web-latest"});
    SetTimes(b.id, "2025-10-14 11:00:00", "2025-10-14 12:02:03");
    return *store_->FindBuild(b.id);
  }

  static void Append(const std::filesystem::path& log, const std::string& text) {
    std::filesystem::create_directories(log.parent_path());
    std::ofstream(log, std::ios::app) << text;
  }

  std::unique_ptr<Store> store_;
};

TEST_F(BuildsCliTest, ListIsATableNewestFirst) {
  Failed();
  Create("api");
  const Outcome r = Run({"builds", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID  APP  UNIT  BRANCH  COMMIT   STATUS  STARTED              DURATION  TRIGGER  "
            "PUSHER\n"
            "2   api  api   main    1a2b3c4  queued  -                    -         push     "
            "alice\n"
            "1   web  web   main    1a2b3c4  failed  2025-10-14 10:00:00  1m05s     push     "
            "alice\n");
}

TEST_F(BuildsCliTest, ListFiltersByAppAndLimits) {
  Failed();
  Create("api");
  Succeeded();
  const auto ids = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"builds", "list", "--json"});
    std::vector<int64_t> ids;
    for (const auto& b : nlohmann::json::parse(Run(args).out)) ids.push_back(b["id"]);
    return ids;
  };
  EXPECT_EQ(ids({}), (std::vector<int64_t>{3, 2, 1}));
  EXPECT_EQ(ids({"--app", "web"}), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(ids({"--limit", "1", "--app=web"}), (std::vector<int64_t>{3}));
  EXPECT_EQ(Run({"builds", "list", "--app", "nope"}).err, "hephyd: no app 'nope'\n");
  const Outcome r = Run({"builds", "list", "--limit", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "hephyd builds list: --limit must be a positive number, got '0'\n"
            "usage: hephyd builds list [--app APP] [--limit N] [--json]\n");
}

TEST_F(BuildsCliTest, ListJsonHasEveryFieldAndTheJobs) {
  Failed();
  Succeeded();
  const auto builds = nlohmann::json::parse(Run({"builds", "list", "--json"}).out);
  ASSERT_EQ(builds.size(), 2u);
  const auto& ok = builds[0];
  EXPECT_EQ(ok["id"], 2);
  EXPECT_EQ(ok["app"], "web");
  EXPECT_EQ(ok["unit"], "web");
  EXPECT_EQ(ok["ref"], "refs/heads/main");
  EXPECT_EQ(ok["old_sha"], kOldSha);
  EXPECT_EQ(ok["new_sha"], kNewSha);
  EXPECT_EQ(ok["pusher"], "alice");
  EXPECT_EQ(ok["key_fingerprint"], "SHA256:key");
  EXPECT_EQ(ok["push_id"], "push-1");
  EXPECT_EQ(ok["status"], "succeeded");
  EXPECT_TRUE(ok["error"].is_null());
  EXPECT_EQ(ok["index_digest"], "sha256:index");
  EXPECT_EQ(ok["tags"], nlohmann::json({"web-20251014-1a2b3c4", "web-latest"}));
  EXPECT_EQ(ok["created_at"], "2025-10-14 11:00:00");
  EXPECT_EQ(ok["started_at"], "2025-10-14 11:00:00");
  EXPECT_EQ(ok["finished_at"], "2025-10-14 12:02:03");
  ASSERT_EQ(ok["jobs"].size(), 1u);
  const auto& job = ok["jobs"][0];
  EXPECT_EQ(job["platform"], "linux/amd64");
  EXPECT_EQ(job["status"], "succeeded");
  EXPECT_EQ(job["tag"], "web-20251014-1a2b3c4-amd64");
  EXPECT_EQ(job["digest"], "sha256:aaa");
  EXPECT_EQ(job["exit_code"], 0);
  EXPECT_EQ(job["log_path"], (data_dir() / "logs/2/linux-amd64.log").string());
  EXPECT_TRUE(job.contains("id"));
  EXPECT_TRUE(job.contains("started_at"));
  EXPECT_TRUE(job.contains("finished_at"));

  const auto& failed = builds[1];
  EXPECT_EQ(failed["error"], "linux/arm64: build exited with status 1");
  EXPECT_TRUE(failed["index_digest"].is_null());
  EXPECT_EQ(failed["tags"], nlohmann::json::array());
  EXPECT_TRUE(failed["jobs"][1]["digest"].is_null());
  EXPECT_EQ(failed["jobs"][1]["exit_code"], 1);
}

TEST_F(BuildsCliTest, ShowPrintsTheBuildThenOneLinePerJob) {
  Failed();
  const std::string logs = (data_dir() / "logs/1").string();
  const Outcome r = Run({"builds", "show", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "build 1: failed\n"
            "app:       web\n"
            "unit:      web\n"
            "ref:       refs/heads/main\n"
            "commits:   " +
                kOldSha + ".." + kNewSha +
                "\n"
                "pusher:    alice (key SHA256:key)\n"
                "push:      push-1\n"
                "trigger:   push\n"
                "source:    -\n"
                "created:   2025-10-14 10:00:00\n"
                "started:   2025-10-14 10:00:00\n"
                "finished:  2025-10-14 10:01:05\n"
                "duration:  1m05s\n"
                "error:     linux/arm64: build exited with status 1\n"
                "index:     -\n"
                "tags:      -\n"
                "\n"
                "PLATFORM     STATUS     TAG                         DIGEST      EXIT  DURATION  "
                "LOG\n"
                "linux/amd64  succeeded  web-20251014-1a2b3c4-amd64  sha256:aaa  0     1m05s     " +
                logs +
                "/linux-amd64.log\n"
                "linux/arm64  failed     web-20251014-1a2b3c4-arm64  -           1     1m05s     " +
                logs + "/linux-arm64.log\n");
}

TEST_F(BuildsCliTest, ShowJsonIsTheObjectListPrints) {
  Succeeded();
  const auto shown = nlohmann::json::parse(Run({"builds", "show", "1", "--json"}).out);
  const auto listed = nlohmann::json::parse(Run({"builds", "list", "--json"}).out);
  EXPECT_EQ(shown, listed[0]);
  const Outcome text = Run({"builds", "show", "1"});
  EXPECT_NE(text.out.find("duration:  1h02m03s\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("index:     sha256:index\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("tags:      web-20251014-1a2b3c4 web-latest\n"), std::string::npos);
}

TEST_F(BuildsCliTest, ShowNamesAnUnknownBuild) {
  Outcome r = Run({"builds", "show", "7"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hephyd: build 7: no such build\n");
  r = Run({"builds", "show", "seven"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')),
            "hephyd builds show: ID must be a positive number, got 'seven'");
  EXPECT_EQ(Run({"builds", "show"}).code, 2);
}

TEST_F(BuildsCliTest, LogsOfSeveralJobsArePrefixedWithTheirPlatform) {
  const Build b = Failed();
  Append(b.jobs[0].log_path, "STEP 1/2: FROM alpine\nSTEP 2/2: RUN make\n");
  Append(b.jobs[1].log_path, "STEP 1/2: FROM alpine\nmake: *** [all] Error 1\n");
  const Outcome r = Run({"logs", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "[linux/amd64] STEP 1/2: FROM alpine\n"
            "[linux/amd64] STEP 2/2: RUN make\n"
            "[linux/arm64] STEP 1/2: FROM alpine\n"
            "[linux/arm64] make: *** [all] Error 1\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(BuildsCliTest, LogsOfOnePlatformAreAsTheBuildPrintedThem) {
  const Build b = Failed();
  Append(b.jobs[0].log_path, "amd64 line\n");
  Append(b.jobs[1].log_path, "arm64 line\n[not a prefix] line\nno newline at the end");
  const Outcome r = Run({"logs", "--platform", "linux/arm64", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "arm64 line\n[not a prefix] line\nno newline at the end\n");

  const Build single = Succeeded();
  Append(single.jobs[0].log_path, "only job\n");
  EXPECT_EQ(Run({"logs", std::to_string(single.id)}).out, "only job\n");
}

TEST_F(BuildsCliTest, LogsOfAnUnknownPlatformNameItAndTheBuildsPlatforms) {
  Failed();
  const Outcome r = Run({"logs", "1", "--platform", "linux/s390x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hephyd: build 1 has no job for platform 'linux/s390x' (its platforms: linux/amd64, "
            "linux/arm64)\n");
  EXPECT_EQ(Run({"logs", "2"}).err, "hephyd: build 2: no such build\n");
  const Outcome usage = Run({"logs"});
  EXPECT_EQ(usage.code, 2);
  EXPECT_EQ(usage.err,
            "hephyd logs: missing BUILD_ID\n"
            "usage: hephyd logs BUILD_ID [--platform P] [--follow]\n");
}

TEST_F(BuildsCliTest, AMissingLogIsANoteNotAFailure) {
  const Build b = Failed();
  Append(b.jobs[1].log_path, "arm64 line\n");
  const Outcome r = Run({"logs", "1"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "[linux/arm64] arm64 line\n");
  EXPECT_EQ(r.err, "hephyd: note: no log for linux/amd64 (job succeeded): " +
                       b.jobs[0].log_path.string() + " does not exist\n");
}

// An output stream that the command writes on its thread while the test
// waits for text to arrive in it.
class SharedOutput : public std::streambuf {
 public:
  // Waits until the output contains `text`; false after `timeout`.
  bool WaitFor(const std::string& text, std::chrono::seconds timeout = 30s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return text_.find(text) != std::string::npos; });
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      const char ch = traits_type::to_char_type(c);
      xsputn(&ch, 1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard lock(mutex_);
    text_.append(s, static_cast<size_t>(n));
    changed_.notify_all();
    return n;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
};

// `hephyd logs ... --follow` running on its own thread. Its state is shared
// with the thread, so that a follower that never ends fails the test rather
// than hanging it.
class Follower {
 public:
  explicit Follower(std::vector<std::string> args) : state_(std::make_shared<State>()) {
    exit_code_ = state_->exit_code.get_future();
    std::thread([state = state_, args = std::move(args)] {
      state->exit_code.set_value(RunCli(args, {state->in, state->out, state->err}));
    }).detach();
  }

  SharedOutput& output() { return state_->output; }
  bool Running() { return exit_code_.wait_for(0s) == std::future_status::timeout; }
  // The exit code once it ended, or -1 if it is still running after `timeout`.
  int Wait(std::chrono::seconds timeout = 30s) {
    if (exit_code_.wait_for(timeout) != std::future_status::ready) return -1;
    return exit_code_.get();
  }
  // Only once Wait has returned an exit code.
  std::string err() const { return state_->err.str(); }

 private:
  struct State {
    SharedOutput output;
    std::istringstream in;
    std::ostream out{&output};
    std::ostringstream err;
    std::promise<int> exit_code;
  };
  std::shared_ptr<State> state_;
  std::future<int> exit_code_;
};

TEST_F(BuildsCliTest, FollowPrintsLinesAsTheyAreWrittenUntilTheBuildFinishes) {
  const Build b = Create("web");
  const auto& amd64 = b.jobs[0];
  const auto& arm64 = b.jobs[1];
  // Queued: the log directory does not exist yet.
  Follower follow(Args({"logs", std::to_string(b.id), "--follow"}));

  store_->StartBuild(b.id);
  store_->StartJob(amd64.id, "t-amd64");
  Append(amd64.log_path, "amd64 step 1\n");
  ASSERT_TRUE(follow.output().WaitFor("[linux/amd64] amd64 step 1\n")) << follow.output().text();
  store_->StartJob(arm64.id, "t-arm64");
  Append(arm64.log_path, "arm64 step 1\n");
  ASSERT_TRUE(follow.output().WaitFor("[linux/arm64] arm64 step 1\n")) << follow.output().text();
  Append(amd64.log_path, "amd64 step 2\n");
  ASSERT_TRUE(follow.output().WaitFor("[linux/amd64] amd64 step 2\n")) << follow.output().text();
  Append(arm64.log_path, "arm64 last line, still being written");
  store_->FinishJob(amd64.id, "succeeded", 0, "sha256:a");
  store_->FinishJob(arm64.id, "succeeded", 0, "sha256:b");
  EXPECT_TRUE(follow.Running());

  store_->FinishBuild(b.id, "succeeded", "", "sha256:i", {"web-latest"});
  ASSERT_EQ(follow.Wait(), 0);
  EXPECT_EQ(follow.output().text(),
            "[linux/amd64] amd64 step 1\n"
            "[linux/arm64] arm64 step 1\n"
            "[linux/amd64] amd64 step 2\n"
            "[linux/arm64] arm64 last line, still being written\n");
  EXPECT_EQ(follow.err(), "");
}

TEST_F(BuildsCliTest, FollowOfOnePlatformPrintsOnlyItsLinesUnprefixed) {
  const Build b = Create("web");
  store_->StartBuild(b.id);
  store_->StartJob(b.jobs[0].id, "t-amd64");
  store_->StartJob(b.jobs[1].id, "t-arm64");
  Append(b.jobs[1].log_path, "arm64 before\n");
  Follower follow(Args({"logs", std::to_string(b.id), "--platform=linux/arm64", "--follow"}));
  ASSERT_TRUE(follow.output().WaitFor("arm64 before\n")) << follow.output().text();
  Append(b.jobs[0].log_path, "amd64 line\n");
  Append(b.jobs[1].log_path, "arm64 after\n");
  ASSERT_TRUE(follow.output().WaitFor("arm64 after\n")) << follow.output().text();

  store_->FinishBuild(b.id, "failed", "linux/amd64: exit 1", "", {});
  ASSERT_EQ(follow.Wait(), 0);
  EXPECT_EQ(follow.output().text(), "arm64 before\narm64 after\n");
}

TEST_F(BuildsCliTest, FollowOfAFinishedBuildPrintsItsLogsAndEnds) {
  const Build b = Failed();
  Append(b.jobs[0].log_path, "amd64 line\n");
  Append(b.jobs[1].log_path, "arm64 line\n");
  const Outcome r = Run({"logs", "1", "--follow"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Run({"logs", "1"}).out);
}

TEST_F(BuildsCliTest, FollowNotesJobsThatNeverWroteALog) {
  const Build b = Create("web");
  store_->StartBuild(b.id);
  store_->StartJob(b.jobs[0].id, "t-amd64");
  Append(b.jobs[0].log_path, "amd64 line\n");
  Follower follow(Args({"logs", std::to_string(b.id), "-f"}));
  ASSERT_TRUE(follow.output().WaitFor("[linux/amd64] amd64 line\n")) << follow.output().text();

  store_->FinishBuild(b.id, "cancelled", "cancelled", "", {});
  ASSERT_EQ(follow.Wait(), 0);
  EXPECT_EQ(follow.err(), "hephyd: note: no log for linux/arm64 (job cancelled): " +
                              b.jobs[1].log_path.string() + " does not exist\n");
}

}  // namespace
}  // namespace hephy
