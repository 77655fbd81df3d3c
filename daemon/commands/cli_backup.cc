// hephyd backup | restore: a copy of the data directory taken while hephyd
// serves, and the data directory made again from one.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <set>

#include "build/image_tags.h"
#include "commands/cli_commands.h"
#include "git/repo_backup.h"
#include "git/repo_store.h"
#include "hephy/error.h"
#include "store/backup_manifest.h"
#include "store/data_dir.h"
#include "store/database_backup.h"
#include "util/names.h"
#include "util/private_file.h"

namespace hephy {
namespace {

namespace fs = std::filesystem;

constexpr char kBackupPrefix[] = "hephy-backup-";

// What of data_dir a backup leaves out: the database and the repositories
// (copied their own way), the hook socket, and what hephyd makes again or
// fetches again: build scratch space, the layer cache, upstream mirrors,
// the build network's files. The embedded registry's storage only on request.
bool LeftOut(const std::string& name, bool with_registry) {
  static const std::set<std::string> kLeftOut = {
      "hephy.db",  "hephy.db-wal", "hephy.db-shm", "hephy.db-journal", "repos",
      "hook.sock", "builds",       "cache",        "upstreams",        "network"};
  return kLeftOut.contains(name) || (name == "registry" && !with_registry);
}

// "12.3 MiB"
std::string MiB(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

bool IsEmptyOrMissing(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

bool IsUnder(const fs::path& path, const fs::path& dir) {
  const auto p = fs::weakly_canonical(path);
  const auto d = fs::weakly_canonical(dir);
  const auto rel = p.lexically_relative(d);
  return !rel.empty() && *rel.begin() != "..";
}

void MakeParents(const fs::path& file) { MakePrivateDirectory(file.parent_path()); }

// Copies data_dir's file `relative` to backup/data/`relative` and lists it.
// A file gone meanwhile (a build's logs deleted with its app) is skipped.
void CopyIntoBackup(const fs::path& data_dir, const fs::path& relative, const fs::path& backup,
                    BackupManifest& manifest) {
  const fs::path from = data_dir / relative;
  const std::string listed = (fs::path("data") / relative).string();
  struct stat st {};
  if (lstat(from.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  MakeParents(backup / listed);
  std::error_code ec;
  fs::copy_file(from, backup / listed, ec);
  if (ec == std::errc::no_such_file_or_directory) return;
  if (ec) throw Error(from.string() + ": cannot copy into the backup: " + ec.message());
  fs::permissions(backup / listed, fs::perms::owner_read | fs::perms::owner_write);
  BackupFile file = HashFile(backup, listed);
  file.mode = st.st_mode & 0777;
  manifest.files.push_back(std::move(file));
}

// Every regular file of data_dir that a backup keeps, relative to it. The
// registry's blobs come after its repositories' links: blobs are only ever
// added, so a link read first finds its blob copied after it.
std::vector<fs::path> FilesToKeep(const fs::path& data_dir, bool with_registry) {
  std::vector<fs::path> files, blobs;
  for (const auto& top : fs::directory_iterator(data_dir)) {
    const std::string name = top.path().filename().string();
    if (LeftOut(name, with_registry)) continue;
    if (top.is_regular_file()) files.push_back(name);
    if (!top.is_directory() || top.is_symlink()) continue;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(top.path(), ec), end; !ec && it != end;
         it.increment(ec)) {
      // Uploads in progress to the registry: no tag points at them.
      if (it->is_directory() && it->path().filename() == "_uploads") {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file() || it->is_symlink()) continue;
      const fs::path relative = it->path().lexically_relative(data_dir);
      const bool blob =
          name == "registry" && relative.string().find("/blobs/") != std::string::npos;
      (blob ? blobs : files).push_back(relative);
    }
    if (ec) throw Error(top.path().string() + ": cannot list: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  std::sort(blobs.begin(), blobs.end());
  files.insert(files.end(), blobs.begin(), blobs.end());
  return files;
}

// Removes all but the `keep` newest backups in `parent` made by --into (a
// hephy-backup-TIME directory with a manifest).
void RemoveOldBackups(const fs::path& parent, int64_t keep, std::ostream& out) {
  std::vector<fs::path> backups;
  for (const auto& entry : fs::directory_iterator(parent)) {
    if (entry.is_directory() && entry.path().filename().string().starts_with(kBackupPrefix) &&
        fs::exists(entry.path() / "manifest.json")) {
      backups.push_back(entry.path());
    }
  }
  std::sort(backups.begin(), backups.end());  // the names hold the time: oldest first
  for (size_t i = 0; i + static_cast<size_t>(keep) < backups.size(); ++i) {
    fs::remove_all(backups[i]);
    out << "removed the older backup " << backups[i].string() << "\n";
  }
}

// Writes the backup of data_dir into the empty directory `dir`, manifest
// last, and returns the manifest.
BackupManifest WriteBackup(const Config& config, const fs::path& dir, bool with_registry,
                           std::chrono::system_clock::time_point now) {
  BackupManifest manifest;
  manifest.hephyd_version = HEPHY_VERSION;
  manifest.created = Rfc3339(now);
  manifest.data_dir = config.data_dir;

  // The repositories before the database: a ref moves only after its build
  // is recorded, so every ref in the backup has its build in the database.
  std::vector<fs::path> repos;
  if (fs::is_directory(config.ReposDir())) {
    for (const auto& entry : fs::directory_iterator(config.ReposDir())) {
      if (entry.path().extension() == ".git" && fs::exists(entry.path() / "HEAD")) {
        repos.push_back(entry.path());
      }
    }
  }
  std::sort(repos.begin(), repos.end());
  for (const auto& repo : repos) {
    const std::string name = repo.filename().string();
    const fs::path listed = fs::path("repos") / name;
    MakePrivateDirectory(dir / listed);
    bool bundled = false;
    try {
      bundled = BackUpRepository(repo, dir / listed);
    } catch (const Error&) {
      // An app deleted meanwhile (its repository is renamed away first) is
      // not in the backup; any other failure is.
      if (fs::exists(repo / "HEAD")) throw;
      fs::remove_all(dir / listed);
      continue;
    }
    for (const char* part : {"repo.bundle", "HEAD", "config"}) {
      if (std::string(part) == "repo.bundle" && !bundled) continue;
      manifest.files.push_back(HashFile(dir, (listed / part).string()));
    }
    manifest.repositories.push_back(name);
  }

  const SchemaVersion schema = BackupDatabase(config.DatabasePath(), dir / "hephy.db");
  manifest.schema_version = schema.version;
  manifest.schema_migration = schema.migration;
  manifest.files.push_back(HashFile(dir, "hephy.db"));

  for (const auto& file : FilesToKeep(config.data_dir, with_registry)) {
    CopyIntoBackup(config.data_dir, file, dir, manifest);
  }

  // Last: a directory without a manifest is no backup.
  WritePrivateFile(dir / "manifest.json", BackupManifestJson(manifest));
  return manifest;
}

int Backup(CliArgs& args, const Config& config, CliStreams io) {
  const auto into = args.Option("--into");
  const auto keep_text = args.Option("--keep");
  const bool with_registry = args.Flag("--with-registry");
  const auto given = into ? std::nullopt : std::optional(args.Required("DIR"));
  args.ExpectEnd();
  if (keep_text && !into) throw UsageError("--keep needs --into PARENT");
  const int64_t keep = keep_text ? ParsePositive("--keep", *keep_text) : 0;

  const auto now = std::chrono::system_clock::now();
  fs::path dir;
  if (into) {
    std::string stamp = Rfc3339(now);
    std::erase(stamp, '-');
    std::erase(stamp, ':');
    dir = fs::absolute(*into) / (kBackupPrefix + stamp);
  } else {
    dir = fs::absolute(*given);
  }
  if (!fs::exists(config.DatabasePath())) {
    throw Error(config.data_dir.string() + ": no hephy.db in data_dir: nothing to back up");
  }
  if (!IsEmptyOrMissing(dir)) {
    throw Error(dir.string() + ": exists and is not empty; back up into a new or empty directory");
  }
  if (IsUnder(dir, config.data_dir)) {
    throw Error(dir.string() + ": is inside data_dir " + config.data_dir.string() +
                "; back up to another place");
  }
  const bool made = !fs::exists(dir);
  MakePrivateDirectory(dir);
  BackupManifest manifest;
  try {
    manifest = WriteBackup(config, dir, with_registry, now);
  } catch (const std::exception& e) {
    // A half-written backup is no backup: leave DIR as it was found.
    std::error_code ec;
    if (made) {
      fs::remove_all(dir, ec);
    } else {
      for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
    }
    throw Error(std::string(e.what()) + "\nno backup was made; " + dir.string() +
                (made ? " is removed" : " is emptied"));
  }
  uint64_t bytes = 0;
  for (const auto& file : manifest.files) bytes += file.size;
  io.out << "backed up " << config.data_dir.string() << " into " << dir.string() << ": "
         << manifest.repositories.size() << " repositories, the database at "
         << (manifest.schema_migration.empty() ? "no migration" : manifest.schema_migration) << ", "
         << manifest.files.size() << " files, " << MiB(bytes) << "\n";
  if (into && keep > 0) RemoveOldBackups(fs::absolute(*into), keep, io.out);
  return 0;
}

// Refuses a backup that this hephyd cannot restore, or that is damaged;
// returns its manifest.
BackupManifest CheckedBackup(const fs::path& dir) {
  const fs::path manifest_path = dir / "manifest.json";
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) {
    throw Error(dir.string() +
                ": no manifest.json: not a backup made by `hephyd backup`, or one that did not "
                "finish");
  }
  std::ifstream in(manifest_path);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  BackupManifest manifest = ParseBackupManifest(text, manifest_path.string());
  const SchemaVersion ours = NewestKnownSchema();
  if (manifest.schema_version > ours.version) {
    throw Error(dir.string() + ": the backup's database is at schema migration " +
                manifest.schema_migration + " (made by hephyd " + manifest.hephyd_version +
                "), newer than this hephyd " + HEPHY_VERSION + " knows, whose newest is " +
                ours.migration + ": restore it with a hephyd at least as new as " +
                manifest.hephyd_version);
  }
  VerifyBackupFiles(dir, manifest);
  return manifest;
}

void RestoreFiles(const fs::path& dir, const BackupManifest& manifest, const Config& config) {
  for (const auto& file : manifest.files) {
    const fs::path relative(file.path);
    if (*relative.begin() != "data") continue;
    const fs::path to = config.data_dir / relative.lexically_relative("data");
    MakeParents(to);
    std::error_code ec;
    fs::copy_file(dir / relative, to, ec);
    if (ec) throw Error(to.string() + ": cannot restore: " + ec.message());
    fs::permissions(to, static_cast<fs::perms>(file.mode & 0777));
  }
  std::error_code ec;
  fs::copy_file(dir / "hephy.db", config.DatabasePath(), ec);
  if (ec) throw Error(config.DatabasePath().string() + ": cannot restore: " + ec.message());
  fs::permissions(config.DatabasePath(), fs::perms::owner_read | fs::perms::owner_write);
}

int Restore(CliArgs& args, const Config& config, CliStreams io) {
  const fs::path dir = fs::absolute(args.Required("DIR"));
  args.ExpectEnd();
  if (!IsEmptyOrMissing(config.data_dir)) {
    throw Error("data_dir " + config.data_dir.string() +
                " is not empty: restore only into a new or empty data directory (move this one "
                "away first)");
  }
  const BackupManifest manifest = CheckedBackup(dir);
  for (const auto& repo : manifest.repositories) {
    if (!repo.ends_with(".git")) {
      throw Error(dir.string() + ": repository '" + repo + "' in the manifest is not APP.git");
    }
    ValidateAppName(repo.substr(0, repo.size() - 4));
  }
  const fs::path hook_program = HookProgramBesideExecutable();

  try {
    MakePrivateDirectory(config.data_dir);
    MakePrivateDirectory(config.ReposDir());
    MakePrivateDirectory(config.LogsDir());
    RestoreFiles(dir, manifest, config);
    const RepoStore repos(config.ReposDir(), hook_program, config.builder.branches.front());
    for (const auto& repo : manifest.repositories) {
      RestoreRepository(repos, repo.substr(0, repo.size() - 4), dir / "repos" / repo);
    }
    RelocateBuildLogs(config.DatabasePath(), manifest.data_dir / "logs", config.LogsDir());
    Store store(config.DatabasePath());
    if (const int applied = store.Migrate()) {
      io.out << "applied " << applied << " schema migration(s) to the restored database\n";
    }
  } catch (const std::exception& e) {
    throw Error(std::string(e.what()) + "\nthe restore did not finish: remove data_dir " +
                config.data_dir.string() + " before trying again");
  }
  io.out << "restored " << dir.string() << " (hephyd " << manifest.hephyd_version << ", "
         << manifest.created << ") into " << config.data_dir.string() << ": "
         << manifest.repositories.size() << " repositories, the database at "
         << manifest.schema_migration << "\n";
  return 0;
}

}  // namespace

const std::vector<DataDirCommand>& DataDirCommands() {
  static const std::vector<DataDirCommand> commands = {
      {"backup", "backup [--with-registry] DIR | backup --into PARENT [--keep N] [--with-registry]",
       "Copies data_dir into DIR, a new or empty directory, while hephyd serves:\n"
       "every repository as a git bundle (every ref with all its objects), the\n"
       "database with SQLite's online backup (as of one commit), the host keys,\n"
       "the registry token key, build logs and other files, and last\n"
       "DIR/manifest.json with each file's size and SHA-256. Left out: build\n"
       "scratch space, the layer cache, upstream mirrors (fetched again), and\n"
       "the embedded registry's storage unless --with-registry is given.\n"
       "--into PARENT makes PARENT/hephy-backup-TIME; --keep N then removes\n"
       "all but the N newest of those. Run it as hephyd's user, with its config.",
       Backup},
      {"restore", "restore DIR",
       "Makes data_dir, which must be new or empty, from the backup in DIR:\n"
       "checks every file against the manifest first (a damaged backup is\n"
       "refused, naming the file), refuses a backup whose database is newer\n"
       "than this hephyd knows, then restores the database (migrated to this\n"
       "hephyd's schema), the repositories (with this installation's\n"
       "hephy-hook) and the other files. Start `hephyd serve` afterwards.",
       Restore},
  };
  return commands;
}

}  // namespace hephy
