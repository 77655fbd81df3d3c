#include "store/database_backup.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "hephy/error.h"
#include "hephy/store.h"
#include "store/migrations.h"
#include "test_dir.h"

namespace hephy {
namespace {

TEST(DatabaseBackup, CopiesTheLastCommitNotAWriteInProgress) {
  TestDir dir;
  const auto source = dir.path() / "hephy.db";
  {
    Store store(source);
    store.Migrate();
    store.AddUser("alice", false);
  }
  // Another connection is halfway through a write, as hephyd may be.
  SQLite::Database writer(source.string(), SQLite::OPEN_READWRITE);
  SQLite::Transaction tx(writer, SQLite::TransactionBehavior::IMMEDIATE);
  writer.exec("INSERT INTO users (name) VALUES ('bob')");

  const SchemaVersion schema = BackupDatabase(source, dir.path() / "copy.db");
  tx.commit();
  EXPECT_EQ(schema.version, NewestKnownSchema().version);
  EXPECT_EQ(schema.migration, EmbeddedMigrations().back().file);

  Store copy(dir.path() / "copy.db");
  EXPECT_EQ(copy.Migrate(), 0);
  EXPECT_TRUE(copy.FindUser("alice"));
  EXPECT_FALSE(copy.FindUser("bob"));
  EXPECT_EQ(SchemaVersionOf(dir.path() / "copy.db").migration, schema.migration);
}

TEST(DatabaseBackup, NamesAMissingDatabase) {
  TestDir dir;
  try {
    BackupDatabase(dir.path() / "none.db", dir.path() / "copy.db");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir.path() / "none.db").string() + ": no database here");
  }
}

TEST(DatabaseBackup, RelocatesLogsUnderTheOldDataDirOnly) {
  TestDir dir;
  const auto path = dir.path() / "hephy.db";
  Store store(path);
  store.Migrate();
  store.CreateApp("web", std::nullopt);
  const Build build = store.CreateBuild({.app = "web",
                                         .unit = "web",
                                         .ref = "refs/heads/main",
                                         .new_sha = "abc",
                                         .pusher = "alice",
                                         .platforms = {"linux/amd64", "linux/arm64"}},
                                        "/old/data/logs");
  {
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE build_jobs SET log_path = '/elsewhere/x.log' WHERE platform = 'linux/arm64'");
  }
  EXPECT_EQ(RelocateBuildLogs(path, "/old/data/logs", "/new/data/logs"), 1);
  const auto moved = store.FindBuild(build.id);
  EXPECT_EQ(moved->jobs[0].log_path,
            "/new/data/logs/" + std::to_string(build.id) + "/linux-amd64.log");
  EXPECT_EQ(moved->jobs[1].log_path, "/elsewhere/x.log");
}

}  // namespace
}  // namespace hephy
