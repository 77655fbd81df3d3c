// hephyd backup and restore against a real hephyd, git and buildah: a
// backup taken while a push is building restores to a data directory with
// the same repositories, records and keys, which a new hephyd then serves.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "output_watcher.h"
#include "store/database_backup.h"
#include "store/migrations.h"
#include "test_daemon.h"

namespace hephy {
namespace {

namespace fs = std::filesystem;

constexpr char kOneAmd64[] = "builder:\n  platforms: [linux/amd64]\n";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A repository whose Dockerfile runs busybox `sh -c SCRIPT`, as in limits_test.
void CommitBusyboxApp(const fs::path& src, const std::string& script) {
  if (!fs::exists(src / ".git")) {
    MakeRepo(src);
    fs::create_directories(src / "bin");
    fs::copy_file("/bin/busybox", src / "bin/busybox", fs::copy_options::overwrite_existing);
    GitOk(src, {"add", "bin"});
  }
  CommitFile(
      src, "Dockerfile",
      "FROM scratch\nCOPY bin/ /bin/\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"" + script + "\"]\n",
      script);
}

// Every row of every table, as text, in rowid order; paths under data_dir
// are written DATA/..., so that two data directories compare.
std::string DumpDatabase(const fs::path& data_dir) {
  SQLite::Database db((data_dir / "hephy.db").string(), SQLite::OPEN_READONLY);
  std::string dump;
  SQLite::Statement tables(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                           "'sqlite_%' ORDER BY name");
  while (tables.executeStep()) {
    const std::string table = tables.getColumn(0).getString();
    dump += "[" + table + "]\n";
    SQLite::Statement rows(db, "SELECT * FROM \"" + table + "\" ORDER BY rowid");
    while (rows.executeStep()) {
      for (int i = 0; i < rows.getColumnCount(); ++i) {
        std::string value = rows.getColumn(i).isNull() ? "NULL" : rows.getColumn(i).getString();
        if (value.starts_with(data_dir.string() + "/")) {
          value = "DATA" + value.substr(data_dir.string().size());
        }
        dump += std::string(rows.getColumnName(i)) + "=" + value + "; ";
      }
      dump += "\n";
    }
  }
  return dump;
}

// Every ref of every repository: "web.git refs/heads/main SHA".
std::string DumpRefs(const fs::path& data_dir) {
  std::vector<fs::path> repos;
  for (const auto& entry : fs::directory_iterator(data_dir / "repos")) repos.push_back(entry);
  std::sort(repos.begin(), repos.end());
  std::string dump;
  for (const auto& repo : repos) {
    dump += repo.filename().string() + " HEAD " + ReadFile(repo / "HEAD");
    dump += GitOk(repo, {"for-each-ref", "--format=%(refname) %(objectname)"}) + "\n";
  }
  return dump;
}

std::string ErrorOfRun(const RunResult& r) { return r.err; }

TEST(Backup, TakenDuringAPushRestoresToAServiceWithTheSameAppsBuildsAndRefs) {
  TestDaemon source(kOneAmd64);
  const TestKey alice = source.AddUser("alice");
  ASSERT_EQ(source.Cli({"apps", "create", "quiet", "--owner", "alice"}).exit_code, 0);
  source.Start();

  const auto web = source.dir() / "web";
  CommitBusyboxApp(web, "echo built");
  const RunResult first = source.Git(alice, {"push", source.Url("web.git"), "main"}, web);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // A second app, pushed to a branch that does not build.
  const auto notes = source.dir() / "notes";
  MakeAppRepo(notes);
  ASSERT_EQ(source.Git(alice, {"push", source.Url("notes.git"), "main:wip"}, notes).exit_code, 0);

  // A push whose build runs on until the test ends it.
  CommitBusyboxApp(web, "echo started; /bin/busybox sleep 300");
  Child running = source.GitInBackground(alice, {"push", source.Url("web.git"), "main"}, web);
  OutputWatcher output(running.stderr_fd().get());
  ASSERT_TRUE(output.WaitFor("remote: [linux/amd64] started")) << output.Text();

  const std::string rows = DumpDatabase(source.data_dir());
  const std::string refs = DumpRefs(source.data_dir());
  ASSERT_NE(rows.find("status=running"), std::string::npos) << rows;

  const fs::path backup = source.dir() / "backup";
  const RunResult made = source.Cli({"backup", backup.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("into " + backup.string() + ": 2 repositories, the database at " +
                          NewestKnownSchema().migration),
            std::string::npos)
      << made.out;
  // The push was still building all along: what the backup holds is this.
  EXPECT_EQ(DumpDatabase(source.data_dir()), rows);
  EXPECT_EQ(DumpRefs(source.data_dir()), refs);
  EXPECT_TRUE(output.Text().find("remote: [linux/amd64] started") != std::string::npos);
  EXPECT_FALSE(running.TryWait()) << "the push ended during the backup: " << output.Text();
  running.KillGroup(SIGKILL);
  running.Wait();
  output.Join();

  const auto manifest = nlohmann::json::parse(ReadFile(backup / "manifest.json"));
  EXPECT_EQ(manifest["schema"]["migration"], NewestKnownSchema().migration);
  EXPECT_EQ(manifest["repositories"], (nlohmann::json{"notes.git", "web.git"}));
  EXPECT_FALSE(fs::exists(backup / "data/cache"));
  EXPECT_FALSE(fs::exists(backup / "data/registry"));

  TestDaemon restored(kOneAmd64);
  const RunResult restore = restored.Cli({"restore", backup.string()});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(DumpDatabase(restored.data_dir()), rows);
  EXPECT_EQ(DumpRefs(restored.data_dir()), refs);
  for (const char* repo : {"web.git", "notes.git"}) {
    const RunResult fsck =
        hephy::Run({.argv = {"git", "--git-dir=" + (restored.data_dir() / "repos" / repo).string(),
                             "fsck", "--full", "--strict"},
                    .pipe_stdout = true,
                    .pipe_stderr = true});
    EXPECT_EQ(fsck.exit_code, 0) << repo << ": " << fsck.err;
    EXPECT_EQ(fs::read_symlink(restored.data_dir() / "repos" / repo / "hooks/pre-receive"),
              fs::path(HEPHY_HOOK_PATH));
  }
  for (const char* key : {"ssh_host_ed25519_key", "ssh_host_rsa_key", "registry-token.key"}) {
    EXPECT_EQ(ReadFile(restored.data_dir() / key), ReadFile(source.data_dir() / key)) << key;
    EXPECT_EQ(fs::status(restored.data_dir() / key).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << key;
  }
  // The first build's log moved with it, and `hephyd logs` finds it there.
  const RunResult logs = restored.Cli({"logs", "1"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("built"), std::string::npos) << logs.out;

  restored.Start();
  EXPECT_TRUE(restored.WaitForLog("marked 1 build(s) left unfinished by the last hephyd"))
      << restored.Log();
  const auto clone = restored.dir() / "clone";
  const RunResult cloned =
      restored.Git(alice, {"clone", restored.Url("web.git"), clone.string()}, restored.dir());
  ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
  EXPECT_EQ(GitOk(clone, {"rev-parse", "HEAD"}),
            GitOk(source.RepoPath("web"), {"rev-parse", "main"}));
  CommitBusyboxApp(clone, "echo after the restore");
  const RunResult pushed = restored.Git(alice, {"push", "origin", "main"}, clone);
  EXPECT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_NE(pushed.err.find("remote: [linux/amd64] after the restore"), std::string::npos)
      << pushed.err;
}

TEST(Backup, DamagedNewerAndMisplacedBackupsAreRefused) {
  TestDaemon source(kOneAmd64);
  const TestKey alice = source.AddUser("alice");
  source.Start();
  const auto app = source.dir() / "app";
  MakeAppRepo(app);
  ASSERT_EQ(source.Git(alice, {"push", source.Url("app.git"), "main:wip"}, app).exit_code, 0);

  // Only into a new or empty directory, and never over SSH.
  fs::create_directories(source.dir() / "full");
  std::ofstream(source.dir() / "full/x") << "x";
  RunResult r = source.Cli({"backup", (source.dir() / "full").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: " + (source.dir() / "full").string() +
                       ": exists and is not empty; back up into a new or empty directory\n");
  r = source.Ssh(alice, "backup /tmp/anywhere");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'backup'"), std::string::npos) << r.err;

  const fs::path backup = source.dir() / "backup";
  ASSERT_EQ(source.Cli({"backup", backup.string()}).exit_code, 0);

  // Only into an empty data_dir.
  TestDaemon target(kOneAmd64);
  fs::create_directories(target.data_dir());
  std::ofstream(target.data_dir() / "stray") << "x";
  r = target.Cli({"restore", backup.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: data_dir " + target.data_dir().string() +
                       " is not empty: restore only into a new or empty data directory (move "
                       "this one away first)\n");
  fs::remove(target.data_dir() / "stray");

  // One byte flipped in the repository's bundle.
  const fs::path bundle = backup / "repos/app.git/repo.bundle";
  {
    std::fstream file(bundle, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(-10, std::ios::end);
    const char c = static_cast<char>(file.get());
    file.seekp(-10, std::ios::end);
    file.put(static_cast<char>(c ^ 0x01));
  }
  r = target.Cli({"restore", backup.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("hephyd: " + bundle.string() + ": SHA-256 is ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(": the backup is damaged\n"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(target.data_dir())) << "a refused restore wrote into data_dir";

  // A database a newer hephyd migrated (as that one would have recorded it).
  source.Stop();
  {
    SQLite::Database db((source.data_dir() / "hephy.db").string(), SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO schema_migrations (version, file, sha256) VALUES (9999, '9999_future.sql', "
        "'0')");
  }
  const fs::path newer = source.dir() / "newer";
  ASSERT_EQ(source.Cli({"backup", newer.string()}).exit_code, 0);
  r = target.Cli({"restore", newer.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: " + newer.string() +
                       ": the backup's database is at schema migration 9999_future.sql (made by "
                       "hephyd " HEPHY_VERSION "), newer than this hephyd " HEPHY_VERSION
                       " knows, whose newest is " +
                       NewestKnownSchema().migration +
                       ": restore it with a hephyd at least as new as " HEPHY_VERSION "\n");

  // Not a backup at all.
  r = target.Cli({"restore", source.dir().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: " + source.dir().string() +
                       ": no manifest.json: not a backup made by `hephyd backup`, or one that "
                       "did not finish\n");
}

TEST(Backup, IntoKeepsTheNewestBackups) {
  TestDaemon source;
  ASSERT_EQ(source.Cli({"users", "add", "alice"}).exit_code, 0);
  const fs::path parent = source.dir() / "backups";
  // Older ones, as earlier runs left them (the names hold the time).
  for (const char* old : {"hephy-backup-20200101T000000Z", "hephy-backup-20210101T000000Z"}) {
    fs::create_directories(parent / old);
    std::ofstream(parent / old / "manifest.json") << "{}";
  }
  fs::create_directories(parent / "unrelated");
  const RunResult r = source.Cli({"backup", "--into", parent.string(), "--keep", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(
      r.out.find("removed the older backup " + (parent / "hephy-backup-20200101T000000Z").string()),
      std::string::npos)
      << r.out;
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(parent)) {
    left.push_back(entry.path().filename().string());
  }
  std::sort(left.begin(), left.end());
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0], "hephy-backup-20210101T000000Z");
  EXPECT_TRUE(left[1].starts_with("hephy-backup-2") && left[1].ends_with("Z")) << left[1];
  EXPECT_TRUE(fs::exists(parent / left[1] / "manifest.json"));
  EXPECT_EQ(left[2], "unrelated");
  EXPECT_EQ(ErrorOfRun(source.Cli({"backup", "--keep", "2", "x"})),
            "hephyd backup: --keep needs --into PARENT\nusage: hephyd backup [--with-registry] "
            "DIR | backup --into PARENT [--keep N] [--with-registry]\n");
}

TEST(Backup, AFailedBackupLeavesNoBackupBehind) {
  TestDaemon source;
  ASSERT_EQ(source.Cli({"users", "add", "alice"}).exit_code, 0);
  // A repository whose branch names an object it does not have.
  const fs::path broken = source.RepoPath("broken");
  fs::create_directories(broken / "objects");
  fs::create_directories(broken / "refs/heads");
  std::ofstream(broken / "HEAD") << "ref: refs/heads/main\n";
  std::ofstream(broken / "config") << "[core]\n\tbare = true\n";
  std::ofstream(broken / "refs/heads/main") << std::string(40, '1') << "\n";

  const fs::path backup = source.dir() / "backup";
  const RunResult r = source.Cli({"backup", backup.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("hephyd: " + broken.string() + ": git bundle failed: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("\nno backup was made; " + backup.string() + " is removed\n"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(backup));
}

TEST(Backup, AnOlderSchemasBackupIsMigratedOnRestore) {
  TestDaemon source;
  fs::create_directories(source.data_dir());
  {
    SQLite::Database db((source.data_dir() / "hephy.db").string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    const auto& all = EmbeddedMigrations();
    ApplyMigrations(db, {all.begin(), all.end() - 1});
    db.exec("INSERT INTO users (name, admin) VALUES ('olga', 1)");
  }
  const fs::path backup = source.dir() / "backup";
  const RunResult made = source.Cli({"backup", backup.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("the database at " + EmbeddedMigrations().end()[-2].file),
            std::string::npos)
      << made.out;

  TestDaemon target;
  const RunResult restored = target.Cli({"restore", backup.string()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.out.find("applied 1 schema migration(s) to the restored database"),
            std::string::npos)
      << restored.out;
  EXPECT_EQ(SchemaVersionOf(target.data_dir() / "hephy.db").migration,
            NewestKnownSchema().migration);
  EXPECT_NE(target.Cli({"users", "list"}).out.find("olga"), std::string::npos);
}

// The embedded registry's images come along with --with-registry only; the
// API tokens come along always, so one made before the backup pulls from
// the restored registry.
TEST(Backup, WithRegistryTheRestoredRegistryServesTheImages) {
  TestDaemon source(kOneAmd64);
  const TestKey alice = source.AddUser("alice");
  const RunResult token = source.Cli({"tokens", "create", "alice"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  const std::string secret = token.out.substr(0, token.out.find('\n'));
  source.Start();
  const auto web = source.dir() / "web";
  CommitBusyboxApp(web, "echo built");
  const RunResult pushed = source.Git(alice, {"push", source.Url("web.git"), "main"}, web);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  const std::string marker = "image " + source.registry_url() + "/web@";
  const auto at = pushed.err.find(marker);
  ASSERT_NE(at, std::string::npos) << pushed.err;
  std::string digest = pushed.err.substr(at + marker.size(), 71);  // sha256:<64 hex>
  ASSERT_TRUE(digest.starts_with("sha256:")) << digest;

  const fs::path with = source.dir() / "with";
  const fs::path without = source.dir() / "without";
  ASSERT_EQ(source.Cli({"backup", "--with-registry", with.string()}).exit_code, 0);
  ASSERT_EQ(source.Cli({"backup", without.string()}).exit_code, 0);
  source.Stop();

  for (const auto& [backup, served] : {std::pair(with, true), std::pair(without, false)}) {
    TestDaemon target(kOneAmd64);
    const RunResult restored = target.Cli({"restore", backup.string()});
    ASSERT_EQ(restored.exit_code, 0) << restored.err;
    target.Start();
    const RunResult inspect = hephy::Run(
        {.argv = {"skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", "alice:" + secret,
                  "docker://" + target.registry_url() + "/web@" + digest},
         .pipe_stdout = true,
         .pipe_stderr = true});
    EXPECT_EQ(inspect.exit_code == 0, served) << backup << ": " << inspect.err;
  }
}

}  // namespace
}  // namespace hephy
