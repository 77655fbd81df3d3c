// Schema migrations: migrations/NNNN_name.sql, compiled into the binary.
#pragma once

#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace hephy {

struct MigrationSource {
  std::string file;  // "0001_users_and_keys.sql"
  std::string sql;
};

// The migrations/*.sql files of this build, in order.
const std::vector<MigrationSource>& EmbeddedMigrations();

// Applies those of `migrations` (sorted by file name) that `db` has not
// recorded in schema_migrations, each in one transaction with its record.
// Returns how many were applied. Throws Error when the database records a
// migration not in `migrations` (a newer hephyd wrote it) or one whose text
// changed since it was applied.
int ApplyMigrations(SQLite::Database& db, const std::vector<MigrationSource>& migrations);

}  // namespace hephy
