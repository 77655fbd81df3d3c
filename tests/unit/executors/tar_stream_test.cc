// Archives are checked by GNU tar, which is what reads them apart from the
// build pods' busybox tar.
#include "executors/tar_stream.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "hephy/error.h"
#include "test_dir.h"
#include "util/process.h"

namespace hephy {
namespace {

void WriteFile(const std::filesystem::path& path, const std::string& text, mode_t mode = 0644) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The archive of `dir`, extracted by tar into `into`; tar's listing.
std::string Extract(const std::filesystem::path& dir, const std::filesystem::path& into) {
  std::string archive;
  EXPECT_TRUE(StreamTar(dir, [&](std::string_view bytes) {
    archive.append(bytes);
    return true;
  }));
  EXPECT_EQ(archive.size() % 512, 0u);
  std::filesystem::create_directories(into);
  const auto extracted = Run({.argv = {"tar", "-x", "-C", into.string()}}, archive);
  EXPECT_EQ(extracted.exit_code, 0) << extracted.err;
  const auto listed = Run({.argv = {"tar", "-t"}, .pipe_stdout = true}, archive);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  return listed.out;
}

TEST(TarStream, FilesDirectoriesModesAndLinksSurviveTar) {
  TestDir dir;
  const auto src = dir.path() / "src";
  WriteFile(src / "Dockerfile", "FROM scratch\nCOPY . /\n");
  WriteFile(src / "bin" / "run.sh", "#!/bin/sh\necho hi\n", 0755);
  WriteFile(src / "empty", "");
  std::filesystem::create_directories(src / "empty-dir");
  std::filesystem::create_symlink("bin/run.sh", src / "run");
  std::string big(200 * 1024 + 7, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 % 251);
  WriteFile(src / "data.bin", big);

  EXPECT_EQ(Extract(src, dir.path() / "out"),
            "Dockerfile\nbin/\nbin/run.sh\ndata.bin\nempty\nempty-dir/\nrun\n");
  const auto out = dir.path() / "out";
  EXPECT_EQ(ReadFile(out / "Dockerfile"), "FROM scratch\nCOPY . /\n");
  EXPECT_EQ(ReadFile(out / "data.bin"), big);
  EXPECT_EQ(ReadFile(out / "empty"), "");
  EXPECT_TRUE(std::filesystem::is_directory(out / "empty-dir"));
  EXPECT_EQ(std::filesystem::read_symlink(out / "run"), "bin/run.sh");
  struct stat st {};
  ASSERT_EQ(stat((out / "bin" / "run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(stat((out / "Dockerfile").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(TarStream, NamesAndLinksLongerThanUstarHoldGoInPaxHeaders) {
  TestDir dir;
  const auto src = dir.path() / "src";
  const std::string deep = std::string(90, 'd') + "/" + std::string(90, 'e');
  const std::string name = std::string(120, 'f');
  WriteFile(src / deep / name, "deep\n");
  std::filesystem::create_symlink(deep + "/" + name, src / "link");

  const std::string listing = Extract(src, dir.path() / "out");
  EXPECT_NE(listing.find(deep + "/" + name + "\n"), std::string::npos) << listing;
  EXPECT_EQ(ReadFile(dir.path() / "out" / deep / name), "deep\n");
  EXPECT_EQ(std::filesystem::read_symlink(dir.path() / "out" / "link"), deep + "/" + name);
}

TEST(TarStream, StopsAsSoonAsTheReaderGoes) {
  TestDir dir;
  WriteFile(dir.path() / "a", std::string(300 * 1024, 'a'));
  WriteFile(dir.path() / "b", "b");
  int writes = 0;
  EXPECT_FALSE(StreamTar(dir.path(), [&](std::string_view) { return ++writes < 2; }));
  EXPECT_EQ(writes, 2);
}

TEST(TarStream, AFifoIsRefusedByName) {
  TestDir dir;
  ASSERT_EQ(mkfifo((dir.path() / "pipe").c_str(), 0644), 0);
  try {
    StreamTar(dir.path(), [](std::string_view) { return true; });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir.path() / "pipe").string() + ": neither a file, a directory nor a symbolic link");
  }
}

}  // namespace
}  // namespace hephy
