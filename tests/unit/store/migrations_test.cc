#include "store/migrations.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "hephy/error.h"
#include "hephy/store.h"
#include "test_dir.h"

namespace hephy {
namespace {

std::vector<std::string> Tables(SQLite::Database& db) {
  std::vector<std::string> names;
  SQLite::Statement q(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name");
  while (q.executeStep()) names.push_back(q.getColumn(0).getString());
  return names;
}

int Recorded(SQLite::Database& db) {
  return db.execAndGet("SELECT count(*) FROM schema_migrations").getInt();
}

TEST(Migrations, FreshDatabaseGetsEveryTable) {
  TestDir dir;
  SQLite::Database db((dir.path() / "h.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const int count = static_cast<int>(EmbeddedMigrations().size());
  EXPECT_EQ(ApplyMigrations(db, EmbeddedMigrations()), count);
  EXPECT_EQ(Recorded(db), count);
  const auto tables = Tables(db);
  for (const char* t : {"users", "ssh_keys", "apps", "app_members", "audit_log", "builds",
                        "build_jobs", "build_tags", "api_tokens"}) {
    EXPECT_NE(std::find(tables.begin(), tables.end(), t), tables.end()) << t;
  }
}

TEST(Migrations, SecondRunAppliesNothing) {
  TestDir dir;
  SQLite::Database db((dir.path() / "h.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  ApplyMigrations(db, EmbeddedMigrations());
  EXPECT_EQ(ApplyMigrations(db, EmbeddedMigrations()), 0);
  EXPECT_EQ(Recorded(db), static_cast<int>(EmbeddedMigrations().size()));
}

TEST(Migrations, DatabaseFromThePreviousSetIsUpgradedKeepingItsRows) {
  TestDir dir;
  const auto& all = EmbeddedMigrations();
  ASSERT_GE(all.size(), 2u);
  const std::vector<MigrationSource> previous(all.begin(), all.end() - 1);
  {
    SQLite::Database db((dir.path() / "h.db").string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ApplyMigrations(db, previous);
    db.exec("INSERT INTO users (name) VALUES ('alice')");
  }
  Store store(dir.path() / "h.db");
  EXPECT_EQ(store.Migrate(), 1);
  ASSERT_TRUE(store.FindUser("alice"));
  EXPECT_NO_THROW(store.CreateApp("web", "alice"));
}

TEST(Migrations, TheSetIsTheFilesInOrder) {
  std::vector<std::string> files;
  for (const auto& m : EmbeddedMigrations()) files.push_back(m.file);
  EXPECT_EQ(files, (std::vector<std::string>{
                       "0001_users_and_keys.sql", "0002_apps_and_audit.sql", "0003_builds.sql",
                       "0004_build_triggers_and_sources.sql", "0005_deploy_keys.sql",
                       "0006_api_tokens.sql", "0007_cli_builds.sql", "0008_deploy_tokens.sql"}));
}

TEST(Migrations, BuildsJobsAndTagsSurviveTheCliTrigger) {
  TestDir dir;
  const auto& all = EmbeddedMigrations();
  ASSERT_EQ(all.at(6).file, "0007_cli_builds.sql");
  {
    SQLite::Database db((dir.path() / "h.db").string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA foreign_keys = ON");
    ApplyMigrations(db, {all.begin(), all.begin() + 6});
    db.exec("INSERT INTO apps (name) VALUES ('web')");
    db.exec(
        "INSERT INTO builds (app_id, unit, ref, old_sha, new_sha, pusher, triggered_by, "
        "status, index_digest) VALUES "
        "(1, 'web', 'refs/heads/main', '', 'abc', 'alice', 'manual', 'succeeded', 'sha256:1')");
    db.exec("INSERT INTO build_jobs (build_id, platform, log_path) VALUES (1, 'linux/amd64', 'l')");
    db.exec("INSERT INTO build_tags (build_id, tag) VALUES (1, 'web-latest')");
  }
  Store store(dir.path() / "h.db");
  EXPECT_EQ(store.Migrate(), static_cast<int>(all.size()) - 6);
  const auto kept = store.FindBuild(1);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->triggered_by, "manual");
  EXPECT_EQ(kept->index_digest, "sha256:1");
  EXPECT_EQ(kept->tags, std::vector<std::string>{"web-latest"});
  ASSERT_EQ(kept->jobs.size(), 1u);
  EXPECT_EQ(kept->jobs[0].platform, "linux/amd64");

  const Build cli = store.CreateBuild({.app = "web",
                                       .unit = "web",
                                       .ref = "HEAD",
                                       .new_sha = "def",
                                       .pusher = "ci",
                                       .triggered_by = "cli",
                                       .platforms = {"linux/arm64"}},
                                      dir.path() / "logs");
  EXPECT_EQ(store.FindBuild(cli.id)->triggered_by, "cli");
  EXPECT_EQ(store.FindBuild(cli.id)->jobs.size(), 1u);
  // The renamed tables still cascade from builds.
  store.DeleteApp("web");
  SQLite::Database db((dir.path() / "h.db").string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM build_jobs").getInt(), 0);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM build_tags").getInt(), 0);
}

// A user's token made before deploy tokens is still that user's, and still
// goes with the user; the copied table still cascades.
TEST(Migrations, ApiTokensStayUsersTokensBesideDeployTokens) {
  TestDir dir;
  const auto& all = EmbeddedMigrations();
  ASSERT_EQ(all.at(7).file, "0008_deploy_tokens.sql");
  const std::string hash(64, 'a');
  {
    SQLite::Database db((dir.path() / "h.db").string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA foreign_keys = ON");
    ApplyMigrations(db, {all.begin(), all.begin() + 7});
    db.exec("INSERT INTO users (name) VALUES ('alice')");
    db.exec("INSERT INTO apps (name) VALUES ('web')");
    db.exec(
        "INSERT INTO api_tokens (user_id, name, token_sha256, last_used_at) VALUES (1, 'ci', '" +
        hash + "', '2026-01-02 03:04:05')");
  }
  Store store(dir.path() / "h.db");
  EXPECT_EQ(store.Migrate(), static_cast<int>(all.size()) - 7);
  const auto tokens = store.ListApiTokens(std::nullopt);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].id, 1);
  EXPECT_EQ(tokens[0].user, "alice");
  EXPECT_EQ(tokens[0].app, "");
  EXPECT_EQ(tokens[0].access, "");
  EXPECT_EQ(tokens[0].name, "ci");
  EXPECT_EQ(tokens[0].last_used_at, "2026-01-02 03:04:05");
  EXPECT_FALSE(store.FindDeployToken(hash));
  EXPECT_EQ(store.FindUserByApiToken(hash)->name, "alice");

  // New tokens take the next id, whichever kind.
  EXPECT_EQ(store.CreateDeployToken("web", "read", "", std::string(64, 'b')).id, 2);
  store.RemoveUser("alice");
  store.DeleteApp("web");
  EXPECT_TRUE(store.ListApiTokens(std::nullopt).empty());
}

TEST(Migrations, DatabaseWithoutBuildsIsUpgradedKeepingItsRows) {
  TestDir dir;
  const auto& all = EmbeddedMigrations();
  ASSERT_GE(all.size(), 3u);
  ASSERT_EQ(all[1].file, "0002_apps_and_audit.sql");
  {
    SQLite::Database db((dir.path() / "h.db").string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ApplyMigrations(db, {all.begin(), all.begin() + 2});
    db.exec("INSERT INTO users (name) VALUES ('alice')");
    db.exec("INSERT INTO apps (name, owner_id) VALUES ('web', 1)");
    db.exec("INSERT INTO audit_log (actor, action, target) VALUES ('cli', 'apps.create', 'web')");
  }
  Store store(dir.path() / "h.db");
  EXPECT_EQ(store.Migrate(), static_cast<int>(all.size()) - 2);
  ASSERT_TRUE(store.FindApp("web"));
  EXPECT_EQ(store.FindApp("web")->owner, "alice");
  EXPECT_EQ(store.ListAudit().size(), 1u);
  const Build build = store.CreateBuild({.app = "web",
                                         .unit = "web",
                                         .ref = "refs/heads/main",
                                         .new_sha = "abc",
                                         .pusher = "alice",
                                         .platforms = {"linux/amd64"}},
                                        dir.path() / "logs");
  EXPECT_EQ(store.ListBuilds("web").at(0).id, build.id);
}

TEST(Migrations, BuildsFromBeforeTriggersWerePushes) {
  TestDir dir;
  const auto& all = EmbeddedMigrations();
  ASSERT_EQ(all.at(2).file, "0003_builds.sql");
  {
    SQLite::Database db((dir.path() / "h.db").string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ApplyMigrations(db, {all.begin(), all.begin() + 3});
    db.exec("INSERT INTO apps (name) VALUES ('web')");
    db.exec(
        "INSERT INTO builds (app_id, unit, ref, old_sha, new_sha, pusher) VALUES "
        "(1, 'web', 'refs/heads/main', '', 'abc', 'alice')");
  }
  Store store(dir.path() / "h.db");
  EXPECT_EQ(store.Migrate(), static_cast<int>(all.size()) - 3);
  const auto build = store.FindBuild(1);
  ASSERT_TRUE(build);
  EXPECT_EQ(build->triggered_by, "push");
  EXPECT_EQ(build->source_url, "");
}

TEST(Migrations, RefusesADatabaseFromANewerHephyd) {
  TestDir dir;
  SQLite::Database db((dir.path() / "h.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  auto newer = EmbeddedMigrations();
  newer.push_back({"9999_future.sql", "CREATE TABLE future (id INTEGER);"});
  ApplyMigrations(db, newer);
  try {
    ApplyMigrations(db, EmbeddedMigrations());
    FAIL();
  } catch (const Error& e) {
    // Both versions, and what to do.
    const std::string newest = EmbeddedMigrations().back().file;
    EXPECT_NE(std::string(e.what()).find("9999_future.sql is unknown to this hephyd, whose "
                                         "newest is " +
                                         newest + ": a newer hephyd used this database"),
              std::string::npos)
        << e.what();
  }
}

TEST(Migrations, RefusesAMigrationEditedAfterItWasApplied) {
  TestDir dir;
  SQLite::Database db((dir.path() / "h.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  auto edited = EmbeddedMigrations();
  ApplyMigrations(db, edited);
  edited[0].sql += "\n-- a later edit\n";
  try {
    ApplyMigrations(db, edited);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(edited[0].file + " was changed after it was applied"),
              std::string::npos);
  }
}

TEST(Migrations, AFailingMigrationLeavesNoTrace) {
  TestDir dir;
  SQLite::Database db((dir.path() / "h.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  std::vector<MigrationSource> broken = {
      {"0001_ok.sql", "CREATE TABLE a (id INTEGER);"},
      {"0002_bad.sql", "CREATE TABLE b (id INTEGER); CREATE TABLE nonsense;"}};
  EXPECT_THROW(ApplyMigrations(db, broken), Error);
  EXPECT_EQ(Recorded(db), 1);
  const auto tables = Tables(db);
  EXPECT_EQ(std::find(tables.begin(), tables.end(), "b"), tables.end());
}

}  // namespace
}  // namespace hephy
