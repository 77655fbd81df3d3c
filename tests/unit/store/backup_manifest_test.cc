#include "store/backup_manifest.h"

#include <gtest/gtest.h>

#include <fstream>

#include "hephy/error.h"
#include "test_dir.h"

namespace hephy {
namespace {

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

BackupManifest Sample() {
  BackupManifest m;
  m.hephyd_version = "0.5.0";
  m.schema_version = 7;
  m.schema_migration = "0007_cli_builds.sql";
  m.created = "2026-12-04T21:50:00Z";
  m.data_dir = "/var/lib/hephy";
  m.repositories = {"web.git"};
  m.files = {{"hephy.db", 4096, std::string(64, 'a'), 0600},
             {"data/logs/1/linux-amd64.log", 12, std::string(64, 'b'), 0644}};
  return m;
}

TEST(BackupManifest, JsonReadsBackAsWritten) {
  const BackupManifest m = Sample();
  const std::string json = BackupManifestJson(m);
  EXPECT_NE(json.find("\"mode\": \"0644\""), std::string::npos) << json;
  const BackupManifest back = ParseBackupManifest(json, "manifest.json");
  EXPECT_EQ(back.hephyd_version, m.hephyd_version);
  EXPECT_EQ(back.schema_version, 7);
  EXPECT_EQ(back.schema_migration, "0007_cli_builds.sql");
  EXPECT_EQ(back.created, m.created);
  EXPECT_EQ(back.data_dir, m.data_dir);
  EXPECT_EQ(back.repositories, m.repositories);
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(back.files[1].path, "data/logs/1/linux-amd64.log");
  EXPECT_EQ(back.files[1].size, 12u);
  EXPECT_EQ(back.files[1].sha256, std::string(64, 'b'));
  EXPECT_EQ(back.files[1].mode, 0644u);
}

TEST(BackupManifest, RefusesWhatIsNoManifestNamingTheSource) {
  EXPECT_EQ(ErrorOf([] { ParseBackupManifest("[1, 2", "b/manifest.json"); }),
            "b/manifest.json: not a JSON object");
  std::string other = BackupManifestJson(Sample());
  other.replace(other.find("\"format\": 1"), 11, "\"format\": 2");
  EXPECT_EQ(ErrorOf([&] { ParseBackupManifest(other, "m"); }),
            "m: manifest format 2 is unknown to this hephyd (it reads format 1)");
  EXPECT_NE(ErrorOf([] { ParseBackupManifest("{\"format\": 1}", "m"); }).find("m: "),
            std::string::npos);
}

TEST(BackupManifest, RefusesPathsOutsideTheBackup) {
  for (const std::string path : {"/etc/passwd", "../x", "data/../../x", "manifest.json", ""}) {
    BackupManifest m = Sample();
    m.files[0].path = path;
    EXPECT_EQ(ErrorOf([&] { ParseBackupManifest(BackupManifestJson(m), "m"); }),
              "m: file '" + path + "' is not a path inside the backup");
  }
  BackupManifest m = Sample();
  m.repositories = {"../evil.git"};
  EXPECT_NE(ErrorOf([&] {
              ParseBackupManifest(BackupManifestJson(m), "m");
            }).find("is not a path inside the backup"),
            std::string::npos);
}

TEST(BackupManifest, HashFileGivesSizeAndSha256) {
  TestDir dir;
  Write(dir.path() / "a/f", "abc");
  const BackupFile f = HashFile(dir.path(), "a/f");
  EXPECT_EQ(f.path, "a/f");
  EXPECT_EQ(f.size, 3u);
  EXPECT_EQ(f.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ErrorOf([&] { HashFile(dir.path(), "nope"); }),
            (dir.path() / "nope").string() + ": cannot read");
}

class VerifyBackup : public testing::Test {
 protected:
  void SetUp() override {
    Write(dir_.path() / "hephy.db", "database");
    Write(dir_.path() / "data/key", "secret");
    manifest_.files = {HashFile(dir_.path(), "hephy.db"), HashFile(dir_.path(), "data/key")};
  }
  TestDir dir_;
  BackupManifest manifest_;
};

TEST_F(VerifyBackup, AcceptsTheFilesAsListed) {
  EXPECT_NO_THROW(VerifyBackupFiles(dir_.path(), manifest_));
}

TEST_F(VerifyBackup, RefusesAFlippedByteNamingTheFile) {
  Write(dir_.path() / "data/key", "secreT");
  const std::string error = ErrorOf([&] { VerifyBackupFiles(dir_.path(), manifest_); });
  EXPECT_EQ(error.rfind((dir_.path() / "data/key").string() + ": SHA-256 is ", 0), 0u) << error;
  EXPECT_NE(
      error.find("the manifest says " + manifest_.files[1].sha256 + ": the backup is damaged"),
      std::string::npos)
      << error;
}

TEST_F(VerifyBackup, RefusesATruncatedOrMissingFile) {
  Write(dir_.path() / "hephy.db", "data");
  EXPECT_EQ(ErrorOf([&] { VerifyBackupFiles(dir_.path(), manifest_); }),
            (dir_.path() / "hephy.db").string() +
                ": 4 bytes, the manifest says 8: the backup is damaged");
  std::filesystem::remove(dir_.path() / "hephy.db");
  EXPECT_NE(ErrorOf([&] {
              VerifyBackupFiles(dir_.path(), manifest_);
            }).find("hephy.db: missing from the backup"),
            std::string::npos);
}

}  // namespace
}  // namespace hephy
