#include "context_export.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "hephy/error.h"
#include "hephy/process.h"
#include "test_dir.h"

namespace hephy {
namespace {

class ContextExportTest : public ::testing::Test {
 protected:
  ContextExportTest() : work_(dir_.path() / "work") {
    Git({"init", "-q", "-b", "main", work_.string()});
  }

  std::string Git(const std::vector<std::string>& args) {
    SpawnOptions options;
    options.argv = {"git", "-C", dir_.path().string()};
    if (std::filesystem::exists(work_)) options.argv[2] = work_.string();
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = std::vector<std::string>{"PATH=/usr/bin:/bin",
                                           "HOME=" + dir_.path().string(),
                                           "GIT_CONFIG_NOSYSTEM=1",
                                           "GIT_AUTHOR_NAME=T",
                                           "GIT_AUTHOR_EMAIL=t@example.invalid",
                                           "GIT_COMMITTER_NAME=T",
                                           "GIT_COMMITTER_EMAIL=t@example.invalid"};
    const RunResult r = hephy::Run(options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  void Write(const std::string& path, const std::string& content) {
    std::filesystem::create_directories((work_ / path).parent_path());
    std::ofstream(work_ / path) << content;
  }

  void Link(const std::string& path, const std::string& to) {
    std::filesystem::create_directories((work_ / path).parent_path());
    std::filesystem::create_symlink(to, work_ / path);
  }

  // Commits everything and exports the commit into dir/ctx.
  void Export() {
    Git({"add", "-A"});
    Git({"commit", "-q", "-m", "c"});
    const QuarantineRepo repo(work_ / ".git", {});
    ExportTree(repo, Git({"rev-parse", "HEAD"}), context());
  }

  std::string ExportError() {
    try {
      Export();
    } catch (const Error& e) {
      return e.what();
    }
    return "exported";
  }

  std::filesystem::path context() const { return dir_.path() / "ctx"; }

  TestDir dir_;
  std::filesystem::path work_;
};

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st {};
  lstat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST_F(ContextExportTest, WritesFilesWithContentAndModes) {
  Write("Dockerfile", "FROM scratch\n");
  Write("src/deep/main.c", "int main;\n");
  Write("bin/run", "#!/bin/sh\n");
  std::filesystem::permissions(work_ / "bin/run", std::filesystem::perms::owner_all);
  Export();
  std::ifstream in(context() / "src/deep/main.c");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "int main;\n");
  EXPECT_EQ(ModeOf(context() / "Dockerfile"), 0644u);
  EXPECT_EQ(ModeOf(context() / "bin/run"), 0755u);
  EXPECT_EQ(ModeOf(context() / "src/deep"), 0755u);
  EXPECT_FALSE(std::filesystem::exists(context() / ".git"));
}

TEST_F(ContextExportTest, KeepsLinksThatStayInside) {
  Write("conf/app.conf", "x\n");
  Link("app.conf", "conf/app.conf");
  Link("conf/self", "../conf");
  Export();
  EXPECT_EQ(std::filesystem::read_symlink(context() / "app.conf"), "conf/app.conf");
  EXPECT_TRUE(std::filesystem::is_regular_file(context() / "conf/self/app.conf"));
}

TEST_F(ContextExportTest, RefusesAbsoluteLinks) {
  Link("passwd", "/etc/passwd");
  EXPECT_EQ(ExportError(),
            "passwd: symbolic link to an absolute path ('/etc/passwd') is not allowed");
  EXPECT_FALSE(std::filesystem::exists(context()));
}

TEST_F(ContextExportTest, RefusesLinksLeadingOutside) {
  Link("sub/up", "../..");
  EXPECT_EQ(ExportError(), "sub/up: symbolic link leads outside the repository ('../..')");
  EXPECT_FALSE(std::filesystem::exists(context()));
}

TEST_F(ContextExportTest, RefusesEscapesThroughOtherLinks) {
  // Each looks harmless alone: here -> '.', and out -> 'here/..', which reads
  // as '.' but resolves through `here` to the parent of the tree.
  Link("here", ".");
  Link("out", "here/..");
  EXPECT_EQ(ExportError(), "out: symbolic link leads outside the repository ('here/..')");
}

TEST_F(ContextExportTest, RefusesSubmodules) {
  Write("Dockerfile", "FROM scratch\n");
  Git({"update-index", "--add", "--cacheinfo",
       "160000,0123456789012345678901234567890123456789,vendor/lib"});
  Git({"commit", "-q", "-m", "submodule"});
  const QuarantineRepo repo(work_ / ".git", {});
  try {
    ExportTree(repo, Git({"rev-parse", "HEAD"}), context());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "vendor/lib: submodules are not supported; vendor the code or fetch it in the "
                 "Dockerfile");
  }
}

TEST_F(ContextExportTest, RefusesAnExistingDestination) {
  Write("Dockerfile", "FROM scratch\n");
  std::filesystem::create_directory(context());
  EXPECT_NE(ExportError().find("cannot create directory"), std::string::npos);
}

}  // namespace
}  // namespace hephy
