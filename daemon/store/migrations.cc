#include "store/migrations.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdio>
#include <map>

#include "hephy/error.h"
#include "util/hex.h"

namespace hephy {
namespace {

int VersionOf(const std::string& file) {
  if (file.size() < 6 || file.find_first_not_of("0123456789") != 4 || file[4] != '_') {
    throw Error("migration '" + file + "': name must be NNNN_description.sql");
  }
  return std::stoi(file.substr(0, 4));
}

}  // namespace

int ApplyMigrations(SQLite::Database& db, const std::vector<MigrationSource>& migrations) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL,"
      " applied_at TEXT NOT NULL DEFAULT (datetime('now')))");

  std::map<int, const MigrationSource*> known;
  for (const auto& m : migrations) known[VersionOf(m.file)] = &m;

  // Refuse a database that was migrated past, or differently from, this binary.
  std::map<int, std::string> applied;
  SQLite::Statement rows(db, "SELECT version, file, sha256 FROM schema_migrations");
  while (rows.executeStep()) {
    const int version = rows.getColumn(0).getInt();
    const std::string file = rows.getColumn(1).getString();
    auto it = known.find(version);
    if (it == known.end()) {
      const std::string ours = known.empty() ? "none" : known.rbegin()->second->file;
      throw Error(db.getFilename() + ": schema migration " + file +
                  " is unknown to this hephyd, whose newest is " + ours +
                  ": a newer hephyd used this database; run that one (or restore a backup "
                  "made with this one)");
    }
    if (Sha256Hex(it->second->sql) != rows.getColumn(2).getString()) {
      throw Error(db.getFilename() + ": migration " + file +
                  " was changed after it was applied; landed migrations must not be edited");
    }
    applied[version] = file;
  }

  int count = 0;
  for (const auto& [version, m] : known) {
    if (applied.contains(version)) continue;
    // IMMEDIATE: a second hephyd starting at the same moment waits here, then
    // sees the migration recorded and skips it.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement again(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
    again.bind(1, version);
    if (again.executeStep()) continue;
    try {
      db.exec(m->sql);
    } catch (const SQLite::Exception& e) {
      throw Error("migration " + m->file + " failed: " + e.what());
    }
    SQLite::Statement record(
        db, "INSERT INTO schema_migrations (version, file, sha256) VALUES (?,?,?)");
    record.bind(1, version);
    record.bind(2, m->file);
    record.bind(3, Sha256Hex(m->sql));
    record.exec();
    tx.commit();
    ++count;
  }
  return count;
}

}  // namespace hephy
