#include "store/database_backup.h"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>

#include "hephy/error.h"
#include "store/migrations.h"

namespace hephy {
namespace {

SchemaVersion Newest(SQLite::Database& db) {
  SchemaVersion schema;
  if (!db.tableExists("schema_migrations")) return schema;
  SQLite::Statement q(db,
                      "SELECT version, file FROM schema_migrations ORDER BY version DESC LIMIT 1");
  if (q.executeStep()) {
    schema.version = q.getColumn(0).getInt();
    schema.migration = q.getColumn(1).getString();
  }
  return schema;
}

}  // namespace

SchemaVersion BackupDatabase(const std::filesystem::path& source,
                             const std::filesystem::path& dest) {
  if (!std::filesystem::exists(source)) throw Error(source.string() + ": no database here");
  try {
    // Read-write (never created): a reader of a WAL database needs the -shm
    // file, which a read-only connection could not make when hephyd is not
    // running.
    SQLite::Database from(source.string(), SQLite::OPEN_READWRITE);
    from.setBusyTimeout(10000);
    SQLite::Database to(dest.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    SQLite::Backup backup(to, from);
    // -1: every page in one step, under one read transaction (a step at a
    // time would restart whenever hephyd writes in between).
    backup.executeStep(-1);
    // The copy is in WAL mode like its source; back to a single file.
    to.exec("PRAGMA journal_mode = DELETE");
    return Newest(to);
  } catch (const SQLite::Exception& e) {
    throw Error(source.string() + ": cannot back up the database to " + dest.string() + ": " +
                e.what());
  }
}

SchemaVersion SchemaVersionOf(const std::filesystem::path& path) {
  try {
    SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
    return Newest(db);
  } catch (const SQLite::Exception& e) {
    throw Error(path.string() + ": cannot read the database: " + e.what());
  }
}

SchemaVersion NewestKnownSchema() {
  const auto& all = EmbeddedMigrations();
  if (all.empty()) return {};
  return {std::stoi(all.back().file.substr(0, 4)), all.back().file};
}

int RelocateBuildLogs(const std::filesystem::path& database, const std::filesystem::path& old_logs,
                      const std::filesystem::path& new_logs) {
  if (old_logs == new_logs) return 0;
  try {
    SQLite::Database db(database.string(), SQLite::OPEN_READWRITE);
    SQLite::Statement update(
        db,
        "UPDATE build_jobs SET log_path = ?2 || substr(log_path, length(?1) + 1)"
        " WHERE substr(log_path, 1, length(?1) + 1) = ?1 || '/'");
    update.bind(1, old_logs.string());
    update.bind(2, new_logs.string());
    return update.exec();
  } catch (const SQLite::Exception& e) {
    throw Error(database.string() + ": cannot move the build logs' paths: " + e.what());
  }
}

}  // namespace hephy
