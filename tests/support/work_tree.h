// A git work tree in a test directory, committed to with the real git
// binary, for tests that read commits with libgit2.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "util/process.h"

namespace hephy {

class WorkTree {
 public:
  // Creates an empty repository with branch main at `dir`.
  explicit WorkTree(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    Git({"init", "-q", "-b", "main"});
  }

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path git_dir() const { return dir_ / ".git"; }

  // Runs git in the work tree; its first line of output.
  std::string Git(const std::vector<std::string>& args) const {
    SpawnOptions options;
    options.argv = {"git", "-C", dir_.string()};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = std::vector<std::string>{"PATH=/usr/bin:/bin",
                                           "HOME=" + dir_.string(),
                                           "GIT_CONFIG_NOSYSTEM=1",
                                           "GIT_AUTHOR_NAME=T",
                                           "GIT_AUTHOR_EMAIL=t@example.invalid",
                                           "GIT_COMMITTER_NAME=T",
                                           "GIT_COMMITTER_EMAIL=t@example.invalid",
                                           "GIT_COMMITTER_DATE=" + committer_date_};
    const RunResult r = hephy::Run(options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  void Write(const std::string& path, const std::string& content) const {
    std::filesystem::create_directories((dir_ / path).parent_path());
    std::ofstream(dir_ / path) << content;
  }

  void Remove(const std::string& path) const { std::filesystem::remove_all(dir_ / path); }

  // Commits everything; the new commit's id.
  std::string Commit(const std::string& message = "change") const {
    Git({"add", "-A"});
    Git({"commit", "-q", "--allow-empty", "-m", message});
    return Git({"rev-parse", "HEAD"});
  }

  // The committer date of later commits, as git reads it ("@1795594200 +0000").
  void SetCommitterDate(std::string date) { committer_date_ = std::move(date); }

 private:
  std::filesystem::path dir_;
  std::string committer_date_ = "@1795594200 +0000";
};

}  // namespace hephy
