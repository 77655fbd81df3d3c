// Copies of the SQLite database for `hephyd backup` and `hephyd restore`.
#pragma once

#include <filesystem>
#include <string>

namespace hephy {

struct SchemaVersion {
  int version = 0;        // 7; 0 for a database without migrations
  std::string migration;  // "0007_cli_builds.sql"; "" for none
};

// Copies the database at `source` to the new file `dest` with SQLite's
// online backup API, in one step: one read transaction, so the copy is the
// database as of one commit, and in WAL mode it keeps no writer waiting.
// Returns the copy's schema version. Throws Error naming the file.
SchemaVersion BackupDatabase(const std::filesystem::path& source,
                             const std::filesystem::path& dest);

// The newest migration recorded in the database at `path`. Throws Error
// naming the file.
SchemaVersion SchemaVersionOf(const std::filesystem::path& path);

// The newest migration this hephyd knows (compiled in).
SchemaVersion NewestKnownSchema();

// Build logs are recorded by absolute path (build_jobs.log_path): those
// under `old_logs` are moved to the same place under `new_logs`. Returns how
// many were. Throws Error naming the file.
int RelocateBuildLogs(const std::filesystem::path& database, const std::filesystem::path& old_logs,
                      const std::filesystem::path& new_logs);

}  // namespace hephy
