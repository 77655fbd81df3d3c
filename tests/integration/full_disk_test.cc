// A full disk under a real `hephyd serve`: data_dir on a small tmpfs. A push
// or build that runs out of space fails saying so, the ref stays where it
// was, the repository stays fsck-clean, and hephyd keeps serving; below
// serve.min_free_space new pushes are refused before they write anything.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

const char* kBusybox = "/bin/busybox";

// `size` bytes no compressor shrinks, the same every run.
void WriteIncompressible(const std::filesystem::path& path, size_t size) {
  std::mt19937_64 random(42);
  std::ofstream out(path, std::ios::binary);
  for (size_t i = 0; i < size; i += sizeof(uint64_t)) {
    const uint64_t word = random();
    out.write(reinterpret_cast<const char*>(&word), sizeof word);
  }
}

class FullDiskTest : public ::testing::Test {
 protected:
  void Start(const std::string& serve_config, bool small_disk) {
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  platforms: [linux/amd64]\n  network: none\nserve:\n" + serve_config,
        registry_.url());
    if (small_disk) {
      std::filesystem::create_directories(daemon_->data_dir());
      if (mount("tmpfs", daemon_->data_dir().c_str(), "tmpfs", 0, "size=40m,mode=0700") != 0) {
        GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
      }
      mounted_ = true;
    }
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
  }

  void TearDown() override {
    if (daemon_) daemon_->Stop();
    if (mounted_) umount2(daemon_->data_dir().c_str(), MNT_DETACH);
  }

  // A repository at `dir` whose Dockerfile copies one small file.
  std::filesystem::path SmallApp(const std::string& name) {
    const auto dir = daemon_->dir() / name;
    MakeRepo(dir);
    CommitFile(dir, "hello.txt", "hello\n", "hello");
    CommitFile(dir, "Dockerfile", "FROM scratch\nCOPY hello.txt /\n", "Dockerfile");
    return dir;
  }

  // 64 MiB the 40 MiB disk has no room for, committed in `dir`.
  void CommitBlobLargerThanTheDisk(const std::filesystem::path& dir) {
    WriteIncompressible(dir / "blob.bin", 64u << 20);
    GitOk(dir, {"add", "blob.bin"});
    GitOk(dir, {"commit", "-q", "-m", "a blob larger than the disk"});
  }

  RunResult Push(const std::string& app, const std::filesystem::path& dir) {
    return daemon_->Git(alice_, {"push", daemon_->Url(app + ".git"), "main"}, dir);
  }

  // refs/heads/main of APP's repository on the server; empty when none.
  std::string RefOf(const std::string& app) {
    const RunResult r = hephy::Run({.argv = {"git", "--git-dir", daemon_->RepoPath(app).string(),
                                             "rev-parse", "--verify", "-q", "refs/heads/main"}});
    return r.exit_code == 0 ? r.out : "";
  }

  void ExpectFsckClean(const std::string& app) {
    const RunResult r = hephy::Run(
        {.argv = {"git", "--git-dir", daemon_->RepoPath(app).string(), "fsck", "--full"}});
    EXPECT_EQ(r.exit_code, 0) << app << ": " << r.out << r.err;
  }

  // What a full disk must not take away: a clone of an app pushed before,
  // and commands over SSH.
  void ExpectStillServing(const std::string& app, const std::string& ref) {
    const auto clone = daemon_->dir() / ("clone-" + std::to_string(clones_++));
    const RunResult cloned = daemon_->Git(
        alice_, {"clone", "-q", daemon_->Url(app + ".git"), clone.string()}, daemon_->dir());
    ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
    EXPECT_EQ(GitOk(clone, {"rev-parse", "HEAD"}), ref);
    const RunResult apps = daemon_->Ssh(alice_, "apps list");
    EXPECT_EQ(apps.exit_code, 0) << apps.err;
    EXPECT_NE(apps.out.find(app), std::string::npos) << apps.out;
  }

  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  bool mounted_ = false;
  TestKey alice_;
  int clones_ = 0;
};

TEST_F(FullDiskTest, APushLargerThanTheDiskFailsSayingSoAndLosesNothing) {
  Start("  min_free_space: 0\n", /*small_disk=*/true);
  const auto small = SmallApp("small");
  ASSERT_EQ(Push("small", small).exit_code, 0);
  const std::string small_ref = RefOf("small");

  // Older history first, then 64 MiB the disk has no room for.
  const auto big = SmallApp("big");
  ASSERT_EQ(Push("big", big).exit_code, 0);
  const std::string big_ref = RefOf("big");
  CommitBlobLargerThanTheDisk(big);
  const RunResult r = Push("big", big);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("hephyd: no space left on " + daemon_->data_dir().string() + " ("),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" MiB free)"), std::string::npos) << r.err;

  EXPECT_EQ(RefOf("big"), big_ref);
  ExpectFsckClean("big");
  ExpectFsckClean("small");
  ExpectStillServing("small", small_ref);
  const RunResult builds = daemon_->Cli({"builds", "list", "--app", "big"});
  EXPECT_EQ(builds.exit_code, 0) << builds.err;
  EXPECT_NE(builds.out.find("succeeded"), std::string::npos) << builds.out;
}

// Over HTTP, where there is no stderr, hephyd's line comes in git's
// sideband as the answer's last words.
TEST_F(FullDiskTest, AnHttpPushLargerThanTheDiskSaysSoToo) {
  Start("  min_free_space: 0\n", /*small_disk=*/true);
  const auto big = SmallApp("big");
  ASSERT_EQ(Push("big", big).exit_code, 0);
  const std::string big_ref = RefOf("big");
  CommitBlobLargerThanTheDisk(big);

  const RunResult created = daemon_->Cli({"tokens", "create", "alice"});
  std::smatch token;
  ASSERT_TRUE(std::regex_search(created.out, token, std::regex("hephy_[0-9a-f]{64}")))
      << created.out << created.err;
  const std::string url = "http://alice:" + token[0].str() +
                          "@127.0.0.1:" + std::to_string(daemon_->http_port()) + "/big.git";
  const RunResult r =
      hephy::Run({.argv = {"git", "-c", "credential.helper=", "push", url, "main"}, .cwd = big});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("remote: hephyd: no space left on " + daemon_->data_dir().string() + " ("),
            std::string::npos)
      << r.err;
  EXPECT_EQ(RefOf("big"), big_ref);
  ExpectFsckClean("big");
}

TEST_F(FullDiskTest, ABuildThatFillsTheDiskIsRefusedSayingSo) {
  Start("  min_free_space: 0\n", /*small_disk=*/true);
  const auto small = SmallApp("small");
  ASSERT_EQ(Push("small", small).exit_code, 0);
  const std::string small_ref = RefOf("small");

  const auto app = daemon_->dir() / "filler";
  MakeRepo(app);
  std::filesystem::create_directories(app / "amd64/bin");
  std::filesystem::copy_file(kBusybox, app / "amd64/bin/busybox");
  GitOk(app, {"add", "amd64"});
  CommitFile(app, "Dockerfile",
             "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n"
             "RUN [\"/bin/busybox\", \"dd\", \"if=/dev/zero\", \"of=/filler\", \"bs=1M\", "
             "\"count=100\"]\n",
             "a step that writes more than the disk holds");
  const RunResult r = Push("filler", app);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hephyd: no space left on " + daemon_->data_dir().string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(RefOf("filler"), "");
  ExpectFsckClean("filler");
  ExpectStillServing("small", small_ref);
  const RunResult builds = daemon_->Cli({"builds", "list", "--app", "filler"});
  EXPECT_EQ(builds.exit_code, 0) << builds.err;
  EXPECT_NE(builds.out.find("failed"), std::string::npos) << builds.out;
}

TEST_F(FullDiskTest, BelowMinFreeSpaceNewPushesAreRefusedBeforeWritingAnything) {
  // More than any disk here has.
  Start("  min_free_space: 100000g\n", /*small_disk=*/false);
  const auto app = SmallApp("web");
  const RunResult r = Push("web", app);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("hephyd: too little space left on " + daemon_->data_dir().string() + " ("),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" MiB free, serve.min_free_space is 102400000 MiB); pushes are refused "
                       "until space is freed"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(RefOf("web"), "");
  // Everything else goes on.
  const RunResult whoami = daemon_->Ssh(alice_, "whoami");
  EXPECT_EQ(whoami.exit_code, 0) << whoami.err;
}

}  // namespace
}  // namespace hephy
