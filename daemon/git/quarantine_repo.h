// A bare repository as git's pre-receive hook sees it: the objects it has
// plus those the push brought, which wait in a quarantine directory until
// the hook accepts the push.
#pragma once

#include <filesystem>
#include <map>
#include <string>

struct git_repository;

namespace hephy {

class QuarantineRepo {
 public:
  // `env` holds the hook's GIT_QUARANTINE_PATH / GIT_OBJECT_DIRECTORY; a
  // quarantine outside the repository's objects directory is refused.
  // Throws Error.
  QuarantineRepo(const std::filesystem::path& repo, const std::map<std::string, std::string>& env);
  ~QuarantineRepo();
  QuarantineRepo(const QuarantineRepo&) = delete;
  QuarantineRepo& operator=(const QuarantineRepo&) = delete;

  // Whether the tree of commit `commit_id` has a regular file at `path`.
  // Throws Error when the commit cannot be read.
  bool HasFile(const std::string& commit_id, const std::string& path) const;

  // The libgit2 handle, for readers of the pushed objects (context export).
  git_repository* get() const { return repo_; }

 private:
  git_repository* repo_ = nullptr;
};

}  // namespace hephy
