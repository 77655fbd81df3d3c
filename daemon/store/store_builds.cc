// Store: builds, their per-platform jobs and index tags (migrations/0003_builds.sql).
#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <array>
#include <utility>

#include "hephy/error.h"
#include "hephy/store.h"
#include "store/build_logs.h"
#include "util/names.h"

namespace hephy {
namespace {

constexpr std::array<std::string_view, 6> kStatuses = {"queued", "running",   "succeeded",
                                                       "failed", "cancelled", "interrupted"};

void ValidateTerminalStatus(const std::string& what, const std::string& status) {
  if (std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end()) {
    throw Error(what + ": unknown status '" + status +
                "' (expected succeeded, failed, cancelled or interrupted)");
  }
  if (!IsTerminalBuildStatus(status)) {
    throw Error(what + ": '" + status +
                "' is not a final status (expected succeeded, failed, cancelled or interrupted)");
  }
}

std::string BuildName(int64_t build_id) { return "build " + std::to_string(build_id); }

// "already finished (failed)" or "already running": why a transition is refused.
std::string Already(const std::string& status) {
  return IsTerminalBuildStatus(status) ? "already finished (" + status + ")" : "already " + status;
}

// "build 7 (linux/arm64)" and the job's status; throws Error for an unknown job.
std::pair<std::string, std::string> JobNameAndStatus(SQLite::Database& db, int64_t job_id) {
  SQLite::Statement q(db, "SELECT build_id, platform, status FROM build_jobs WHERE id = ?");
  q.bind(1, job_id);
  if (!q.executeStep()) throw Error("build job " + std::to_string(job_id) + ": no such job");
  return {BuildName(q.getColumn(0).getInt64()) + " (" + q.getColumn(1).getString() + ")",
          q.getColumn(2).getString()};
}

constexpr const char* kSelectBuild =
    "SELECT b.id, a.name, b.unit, b.ref, b.old_sha, b.new_sha, b.pusher, b.key_fingerprint,"
    " b.push_id, b.status, b.error, b.index_digest, b.created_at, ifnull(b.started_at, ''),"
    " ifnull(b.finished_at, ''), b.triggered_by, b.source_url, b.source_sha"
    " FROM builds b JOIN apps a ON a.id = b.app_id";

Build ReadBuild(SQLite::Statement& q) {
  Build b;
  b.id = q.getColumn(0).getInt64();
  b.app = q.getColumn(1).getString();
  b.unit = q.getColumn(2).getString();
  b.ref = q.getColumn(3).getString();
  b.old_sha = q.getColumn(4).getString();
  b.new_sha = q.getColumn(5).getString();
  b.pusher = q.getColumn(6).getString();
  b.key_fingerprint = q.getColumn(7).getString();
  b.push_id = q.getColumn(8).getString();
  b.status = q.getColumn(9).getString();
  b.error = q.getColumn(10).getString();
  b.index_digest = q.getColumn(11).getString();
  b.created_at = q.getColumn(12).getString();
  b.started_at = q.getColumn(13).getString();
  b.finished_at = q.getColumn(14).getString();
  b.triggered_by = q.getColumn(15).getString();
  b.source_url = q.getColumn(16).getString();
  b.source_sha = q.getColumn(17).getString();
  return b;
}

// Fills in the jobs and tags of `build`, read by ReadBuild.
void ReadDetails(SQLite::Database& db, Build& build) {
  SQLite::Statement jobs(db,
                         "SELECT id, platform, status, tag, digest, exit_code, log_path,"
                         " ifnull(started_at, ''), ifnull(finished_at, '') FROM build_jobs"
                         " WHERE build_id = ? ORDER BY id");
  jobs.bind(1, build.id);
  while (jobs.executeStep()) {
    BuildJob job;
    job.id = jobs.getColumn(0).getInt64();
    job.platform = jobs.getColumn(1).getString();
    job.status = jobs.getColumn(2).getString();
    job.tag = jobs.getColumn(3).getString();
    job.digest = jobs.getColumn(4).getString();
    if (!jobs.getColumn(5).isNull()) job.exit_code = jobs.getColumn(5).getInt();
    job.log_path = jobs.getColumn(6).getString();
    job.started_at = jobs.getColumn(7).getString();
    job.finished_at = jobs.getColumn(8).getString();
    build.jobs.push_back(std::move(job));
  }
  // rowid order is the order FinishBuild was given the tags in.
  SQLite::Statement tags(db, "SELECT tag FROM build_tags WHERE build_id = ? ORDER BY rowid");
  tags.bind(1, build.id);
  while (tags.executeStep()) build.tags.push_back(tags.getColumn(0).getString());
}

}  // namespace

bool IsTerminalBuildStatus(std::string_view status) {
  return status == "succeeded" || status == "failed" || status == "cancelled" ||
         status == "interrupted";
}

std::string Store::BuildStatus(int64_t build_id) {
  SQLite::Statement q(*db_, "SELECT status FROM builds WHERE id = ?");
  q.bind(1, build_id);
  if (!q.executeStep()) throw Error(BuildName(build_id) + ": no such build");
  return q.getColumn(0).getString();
}

Build Store::CreateBuild(const NewBuild& build, const std::filesystem::path& logs_dir) {
  const auto app = FindApp(build.app);
  if (!app) throw Error("no app '" + build.app + "'");
  const std::string what = "build of " + build.app + " (" + build.unit + ")";
  if (build.platforms.empty()) throw Error(what + ": no platform to build for");
  if (build.triggered_by != "push" && build.triggered_by != "schedule" &&
      build.triggered_by != "manual" && build.triggered_by != "cli") {
    throw Error(what + ": unknown trigger '" + build.triggered_by + "'");
  }
  for (size_t i = 0; i < build.platforms.size(); ++i) {
    const std::string& platform = build.platforms[i];
    if (!IsValidPlatform(platform)) {
      throw Error(what + ": invalid platform '" + platform + "' (expected os/arch[/variant])");
    }
    if (std::find(build.platforms.begin(), build.platforms.begin() + i, platform) !=
        build.platforms.begin() + i) {
      throw Error(what + ": platform '" + platform + "' is given twice");
    }
  }

  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement insert(*db_,
                           "INSERT INTO builds (app_id, unit, ref, old_sha, new_sha, pusher,"
                           " key_fingerprint, push_id, triggered_by, source_url, source_sha)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  insert.bind(1, app->id);
  insert.bind(2, build.unit);
  insert.bind(3, build.ref);
  insert.bind(4, build.old_sha);
  insert.bind(5, build.new_sha);
  insert.bind(6, build.pusher);
  insert.bind(7, build.key_fingerprint);
  insert.bind(8, build.push_id);
  insert.bind(9, build.triggered_by);
  insert.bind(10, build.source_url);
  insert.bind(11, build.source_sha);
  insert.exec();
  const int64_t id = db_->getLastInsertRowid();
  for (const auto& platform : build.platforms) {
    SQLite::Statement job(*db_,
                          "INSERT INTO build_jobs (build_id, platform, log_path) VALUES (?,?,?)");
    job.bind(1, id);
    job.bind(2, platform);
    job.bind(3, BuildLogPath(logs_dir, id, platform).string());
    job.exec();
  }
  tx.commit();
  return *FindBuild(id);
}

void Store::StartBuild(int64_t build_id) {
  SQLite::Statement update(*db_,
                           "UPDATE builds SET status = 'running', started_at = datetime('now')"
                           " WHERE id = ? AND status = 'queued'");
  update.bind(1, build_id);
  if (update.exec() == 0) {
    throw Error(BuildName(build_id) + " cannot start: " + Already(BuildStatus(build_id)));
  }
}

void Store::FinishBuild(int64_t build_id, const std::string& status, const std::string& error,
                        const std::string& index_digest, const std::vector<std::string>& tags) {
  ValidateTerminalStatus(BuildName(build_id), status);
  // IMMEDIATE: the checks below and the writes see one state of the build.
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  const std::string current = BuildStatus(build_id);
  if (IsTerminalBuildStatus(current)) {
    throw Error(BuildName(build_id) + " cannot finish: " + Already(current));
  }
  if (status == "succeeded") {
    SQLite::Statement unfinished(*db_,
                                 "SELECT platform, status FROM build_jobs"
                                 " WHERE build_id = ? AND status <> 'succeeded' ORDER BY id");
    unfinished.bind(1, build_id);
    if (unfinished.executeStep()) {
      throw Error(BuildName(build_id) + " cannot succeed: its job for " +
                  unfinished.getColumn(0).getString() + " is " +
                  unfinished.getColumn(1).getString());
    }
  }
  SQLite::Statement jobs(*db_,
                         "UPDATE build_jobs SET status = ?, finished_at = datetime('now')"
                         " WHERE build_id = ? AND status IN ('queued', 'running')");
  jobs.bind(1, status);
  jobs.bind(2, build_id);
  jobs.exec();
  SQLite::Statement update(*db_,
                           "UPDATE builds SET status = ?, error = ?, index_digest = ?,"
                           " finished_at = datetime('now') WHERE id = ?");
  update.bind(1, status);
  update.bind(2, error);
  update.bind(3, index_digest);
  update.bind(4, build_id);
  update.exec();
  for (const auto& tag : tags) {
    SQLite::Statement insert(*db_, "INSERT OR IGNORE INTO build_tags (build_id, tag) VALUES (?,?)");
    insert.bind(1, build_id);
    insert.bind(2, tag);
    insert.exec();
  }
  tx.commit();
}

void Store::StartJob(int64_t job_id, const std::string& tag) {
  SQLite::Statement update(*db_,
                           "UPDATE build_jobs SET status = 'running', tag = ?,"
                           " started_at = datetime('now') WHERE id = ? AND status = 'queued'");
  update.bind(1, tag);
  update.bind(2, job_id);
  if (update.exec() == 0) {
    const auto [name, current] = JobNameAndStatus(*db_, job_id);
    throw Error(name + " cannot start: " + Already(current));
  }
}

void Store::FinishJob(int64_t job_id, const std::string& status, std::optional<int> exit_code,
                      const std::string& digest) {
  ValidateTerminalStatus("build job " + std::to_string(job_id), status);
  SQLite::Statement update(*db_,
                           "UPDATE build_jobs SET status = ?, exit_code = ?, digest = ?,"
                           " finished_at = datetime('now')"
                           " WHERE id = ? AND status IN ('queued', 'running')");
  update.bind(1, status);
  if (exit_code) update.bind(2, *exit_code);
  update.bind(3, digest);
  update.bind(4, job_id);
  if (update.exec() == 0) {
    const auto [name, current] = JobNameAndStatus(*db_, job_id);
    throw Error(name + " cannot finish: " + Already(current));
  }
}

std::optional<Build> Store::FindBuild(int64_t build_id) {
  // One read transaction: the build, its jobs and tags from the same moment.
  SQLite::Transaction tx(*db_);
  SQLite::Statement q(*db_, std::string(kSelectBuild) + " WHERE b.id = ?");
  q.bind(1, build_id);
  if (!q.executeStep()) return std::nullopt;
  Build build = ReadBuild(q);
  ReadDetails(*db_, build);
  tx.commit();
  return build;
}

std::vector<Build> Store::ListBuilds(const std::optional<std::string>& app, int limit) {
  if (limit < 1) throw Error("limit must be at least 1, got " + std::to_string(limit));
  if (app && !FindApp(*app)) throw Error("no app '" + *app + "'");
  SQLite::Transaction tx(*db_);
  // By id: created_at has whole seconds only, ids grow with every build.
  SQLite::Statement q(*db_, std::string(kSelectBuild) +
                                " WHERE ?1 IS NULL OR a.name = ?1 ORDER BY b.id DESC LIMIT ?2");
  if (app) q.bind(1, *app);
  q.bind(2, limit);
  std::vector<Build> builds;
  while (q.executeStep()) builds.push_back(ReadBuild(q));
  for (auto& build : builds) ReadDetails(*db_, build);
  tx.commit();
  return builds;
}

std::vector<Build> Store::ListBuildsOfApps(const std::vector<std::string>& apps, int limit) {
  if (limit < 1) throw Error("limit must be at least 1, got " + std::to_string(limit));
  if (apps.empty()) return {};
  std::string placeholders;
  for (size_t i = 0; i < apps.size(); ++i) placeholders += i == 0 ? "?" : ",?";
  SQLite::Transaction tx(*db_);
  SQLite::Statement q(*db_, std::string(kSelectBuild) + " WHERE a.name IN (" + placeholders +
                                ") ORDER BY b.id DESC LIMIT ?");
  int index = 1;
  for (const auto& app : apps) q.bind(index++, app);
  q.bind(index, limit);
  std::vector<Build> builds;
  while (q.executeStep()) builds.push_back(ReadBuild(q));
  for (auto& build : builds) ReadDetails(*db_, build);
  tx.commit();
  return builds;
}

std::map<std::string, int64_t> Store::CountFinishedBuilds() {
  std::map<std::string, int64_t> counts;
  for (const auto status : kStatuses) {
    if (IsTerminalBuildStatus(status)) counts[std::string(status)] = 0;
  }
  SQLite::Statement q(*db_, "SELECT status, count(*) FROM builds GROUP BY status");
  while (q.executeStep()) {
    const std::string status = q.getColumn(0).getString();
    if (IsTerminalBuildStatus(status)) counts[status] = q.getColumn(1).getInt64();
  }
  return counts;
}

// Times are stored as SQLite's datetime('now') writes them: "YYYY-MM-DD HH:MM:SS", UTC.
std::optional<std::chrono::system_clock::time_point> Store::LastScheduledRebuild() {
  SQLite::Statement q(*db_,
                      "SELECT CAST(strftime('%s', last_run_at) AS INTEGER) FROM rebuild_schedule"
                      " WHERE id = 1");
  if (!q.executeStep()) return std::nullopt;
  return std::chrono::system_clock::from_time_t(q.getColumn(0).getInt64());
}

void Store::RecordScheduledRebuild(std::chrono::system_clock::time_point when) {
  SQLite::Statement q(*db_,
                      "INSERT INTO rebuild_schedule (id, last_run_at) VALUES (1, datetime(?, "
                      "'unixepoch')) ON CONFLICT (id) DO UPDATE SET last_run_at = "
                      "excluded.last_run_at");
  q.bind(1, static_cast<int64_t>(std::chrono::system_clock::to_time_t(when)));
  q.exec();
}

std::vector<int64_t> Store::MarkInterruptedBuilds() {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement q(*db_,
                      "SELECT id FROM builds WHERE status IN ('queued', 'running') ORDER BY id");
  std::vector<int64_t> ids;
  while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
  db_->exec(
      "UPDATE build_jobs SET status = 'interrupted', finished_at = datetime('now')"
      " WHERE status IN ('queued', 'running') AND build_id IN"
      " (SELECT id FROM builds WHERE status IN ('queued', 'running'))");
  db_->exec(
      "UPDATE builds SET status = 'interrupted', finished_at = datetime('now'),"
      " error = 'hephyd stopped before the build finished'"
      " WHERE status IN ('queued', 'running')");
  tx.commit();
  return ids;
}

std::vector<BuildAge> Store::ListBuildAges() {
  SQLite::Statement q(*db_,
                      "SELECT b.id, a.name, b.status, b.created_at FROM builds b"
                      " JOIN apps a ON a.id = b.app_id ORDER BY b.id");
  std::vector<BuildAge> ages;
  while (q.executeStep()) {
    ages.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                    q.getColumn(2).getString(), q.getColumn(3).getString()});
  }
  return ages;
}

std::map<std::string, int64_t> Store::NewestBuildOfTags() {
  SQLite::Statement q(*db_, "SELECT tag, max(build_id) FROM build_tags GROUP BY tag");
  std::map<std::string, int64_t> builds;
  while (q.executeStep()) builds[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
  return builds;
}

std::vector<int64_t> Store::DeleteFinishedBuilds(const std::vector<int64_t>& ids) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  // Jobs and tags go with their build (ON DELETE CASCADE).
  SQLite::Statement remove(
      *db_, "DELETE FROM builds WHERE id = ? AND status NOT IN ('queued', 'running')");
  std::vector<int64_t> deleted;
  for (const int64_t id : ids) {
    remove.bind(1, id);
    if (remove.exec() > 0) deleted.push_back(id);
    remove.reset();
  }
  tx.commit();
  return deleted;
}

}  // namespace hephy
