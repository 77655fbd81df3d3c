#include "git/context_export.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "error_of.h"
#include "hephy/error.h"
#include "test_dir.h"
#include "util/process.h"

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

  // Exports `subdir` of the last commit into dir/ctx, committing everything
  // first unless that was done.
  void ExportSubdir(const std::string& subdir) {
    if (!Git({"status", "--porcelain"}).empty()) {
      Git({"add", "-A"});
      Git({"commit", "-q", "-m", "c"});
    }
    const QuarantineRepo repo(work_ / ".git", {});
    ExportTree(repo.get(), Git({"rev-parse", "HEAD"}), subdir, context());
  }

  std::string ExportSubdirError(const std::string& subdir) {
    try {
      ExportSubdir(subdir);
    } catch (const Error& e) {
      return e.what();
    }
    return "exported";
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

TEST_F(ContextExportTest, RefusesLinksToNothingOutside) {
  Link("dangling", "../no-such-file");
  EXPECT_EQ(ExportError(),
            "dangling: symbolic link leads outside the repository ('../no-such-file')");
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

TEST_F(ContextExportTest, ExportsASubdirectoryAsTheWholeContext) {
  Write("Dockerfile", "FROM scratch\n");
  Write("units/web/Dockerfile", "FROM web\n");
  Write("units/web/src/app.c", "app\n");
  Link("units/web/conf", "src");
  ExportSubdir("units/web");
  std::ifstream in(context() / "Dockerfile");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "FROM web\n");
  EXPECT_TRUE(std::filesystem::is_regular_file(context() / "conf/app.c"));
  EXPECT_FALSE(std::filesystem::exists(context() / "units"));
  EXPECT_EQ(ModeOf(context()), 0755u);
}

TEST_F(ContextExportTest, EmptyOrDotSubdirectoryIsTheRoot) {
  Write("Dockerfile", "FROM scratch\n");
  ExportSubdir("");
  EXPECT_TRUE(std::filesystem::is_regular_file(context() / "Dockerfile"));
  std::filesystem::remove_all(context());
  ExportSubdir("./");
  EXPECT_TRUE(std::filesystem::is_regular_file(context() / "Dockerfile"));
}

TEST_F(ContextExportTest, MissingOrNonDirectorySubdirectoryIsAnError) {
  Write("units/web/Dockerfile", "FROM web\n");
  const std::string missing = ExportSubdirError("units/api");
  EXPECT_EQ(missing.substr(0, missing.find(" in commit ")), "units/api: no such directory");
  EXPECT_FALSE(std::filesystem::exists(context()));
  const std::string file = ExportSubdirError("units/web/Dockerfile");
  EXPECT_EQ(file.substr(0, file.find(" in commit ")), "units/web/Dockerfile: not a directory");
  EXPECT_EQ(ExportSubdirError("../x"), "../x: not a relative path inside the repository");
  EXPECT_EQ(ExportSubdirError("/units"), "/units: not a relative path inside the repository");
}

TEST_F(ContextExportTest, SubdirectoryLinksMustStayInsideTheSubdirectory) {
  // Inside the repository, but outside what becomes the build context.
  Write("shared/secret", "s\n");
  Link("units/web/secret", "../../shared/secret");
  EXPECT_EQ(ExportSubdirError("units/web"),
            "units/web/secret: symbolic link leads outside 'units/web' ('../../shared/secret')");
  EXPECT_FALSE(std::filesystem::exists(context()));
}

TEST_F(ContextExportTest, UnknownCommitIsAnError) {
  Write("Dockerfile", "FROM scratch\n");
  Git({"add", "-A"});
  Git({"commit", "-q", "-m", "c"});
  const QuarantineRepo repo(work_ / ".git", {});
  EXPECT_EQ(ErrorOf([&] { ExportTree(repo.get(), "abc", "", context()); }),
            "'abc': not a commit id");
  EXPECT_EQ(
      ErrorOf([&] { ExportTree(repo.get(), std::string(40, 'a'), "", context()); }).substr(0, 49),
      "commit aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: ");
  EXPECT_FALSE(std::filesystem::exists(context()));
}

}  // namespace
}  // namespace hephy
