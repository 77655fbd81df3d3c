// What a backup made by `hephyd backup` holds, written last as
// DIR/manifest.json: the hephyd and the schema that made it, when, from
// which data directory, and every file of the backup with its size and
// SHA-256, so that `hephyd restore` can refuse a damaged or foreign one
// before it writes anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hephy {

struct BackupFile {
  std::string path;  // relative to the backup directory: "hephy.db", "repos/web.git/repo.bundle"
  uint64_t size = 0;
  std::string sha256;    // lower-case hex
  unsigned mode = 0600;  // permission bits the restored file gets
};

struct BackupManifest {
  static constexpr int kFormat = 1;  // of manifest.json itself

  std::string hephyd_version;             // HEPHY_VERSION of the hephyd that made it
  int schema_version = 0;                 // newest migration applied to the database: 7
  std::string schema_migration;           // its file: "0007_cli_builds.sql"
  std::string created;                    // UTC, RFC 3339: "2026-12-04T21:50:00Z"
  std::filesystem::path data_dir;         // the data directory it was taken from
  std::vector<std::string> repositories;  // "web.git", one per app repository
  std::vector<BackupFile> files;
};

// The manifest as JSON text (stable key order, one file per line), and back.
// ParseBackupManifest throws Error naming `source` and what is wrong: not
// JSON, another format, a missing key, or a file path that is absolute,
// holds "..", or names manifest.json itself.
std::string BackupManifestJson(const BackupManifest& manifest);
BackupManifest ParseBackupManifest(const std::string& text, const std::string& source);

// The SHA-256 (hex) of a file's bytes and their number. Throws Error naming
// the file when it cannot be read.
BackupFile HashFile(const std::filesystem::path& dir, const std::string& relative_path);

// Checks every file of `manifest` in `dir`: present, of its size and its
// SHA-256. Throws Error naming the first file that is not, and why ("DIR/
// hephy.db: SHA-256 is X, the manifest says Y: the backup is damaged").
void VerifyBackupFiles(const std::filesystem::path& dir, const BackupManifest& manifest);

}  // namespace hephy
