#include "git/quarantine_repo.h"

#include "git/libgit2.h"
#include "hephy/error.h"

namespace hephy {

using git::Owned;

QuarantineRepo::QuarantineRepo(const std::filesystem::path& repo,
                               const std::map<std::string, std::string>& env) {
  git::Init();
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, repo.c_str()) != 0) git::Throw(repo.string());
  // Owned until every check passed: a throwing constructor runs no destructor.
  Owned<git_repository, git_repository_free> opened(raw);

  std::string quarantine;
  for (const char* name : {"GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"}) {
    if (auto it = env.find(name); it != env.end() && !it->second.empty()) quarantine = it->second;
  }
  if (!quarantine.empty()) {
    const auto objects = std::filesystem::weakly_canonical(repo / "objects");
    const auto dir = std::filesystem::weakly_canonical(quarantine);
    const auto [end, unused] =
        std::mismatch(objects.begin(), objects.end(), dir.begin(), dir.end());
    if (end != objects.end()) {
      throw Error(quarantine + ": quarantine is not inside " + objects.string());
    }
    git_odb* odb = nullptr;
    if (git_repository_odb(&odb, raw) != 0) git::Throw(repo.string());
    const Owned<git_odb, git_odb_free> owned_odb(odb);
    if (git_odb_add_disk_alternate(odb, dir.c_str()) != 0) git::Throw(quarantine);
  }
  repo_ = opened.release();
}

QuarantineRepo::~QuarantineRepo() { git_repository_free(repo_); }

bool QuarantineRepo::HasFile(const std::string& commit_id, const std::string& path) const {
  git_oid oid;
  git_commit* commit = nullptr;
  if (git_oid_fromstr(&oid, commit_id.c_str()) != 0 ||
      git_commit_lookup(&commit, repo_, &oid) != 0) {
    git::Throw("commit " + commit_id);
  }
  const Owned<git_commit, git_commit_free> owned_commit(commit);
  git_tree* tree = nullptr;
  if (git_commit_tree(&tree, commit) != 0) git::Throw("tree of " + commit_id);
  const Owned<git_tree, git_tree_free> owned_tree(tree);
  git_tree_entry* entry = nullptr;
  if (git_tree_entry_bypath(&entry, tree, path.c_str()) != 0) return false;
  const Owned<git_tree_entry, git_tree_entry_free> owned_entry(entry);
  const git_filemode_t mode = git_tree_entry_filemode(entry);
  return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

}  // namespace hephy
