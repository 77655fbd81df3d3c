// Reads what a commit holds, straight from git's objects: files by path,
// files by name anywhere in the tree, and the commit's time. Used to plan
// builds before anything is exported.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct git_repository;

namespace hephy {

class CommitReader {
 public:
  // Throws Error naming `commit_id` when it is not a commit of `repo`.
  // `repo` must outlive the reader.
  CommitReader(git_repository* repo, const std::string& commit_id);
  ~CommitReader();
  CommitReader(const CommitReader&) = delete;
  CommitReader& operator=(const CommitReader&) = delete;

  // The content of the regular file at `path` ("a/b/Dockerfile"); nullopt
  // when there is none (or it is a directory, link or submodule).
  std::optional<std::string> ReadFile(const std::string& path) const;

  // Whether `path` is a directory of the tree ("" is the root).
  bool HasDirectory(const std::string& path) const;

  // The paths of every regular file named `name`, in tree order
  // ("build-config.yaml", "tools/kaniko/build-config.yaml").
  std::vector<std::string> FindFiles(const std::string& name) const;

  // The committer time.
  std::chrono::system_clock::time_point Time() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hephy
