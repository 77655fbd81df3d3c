#include "git/commit_reader.h"

#include "git/libgit2.h"
#include "hephy/error.h"

namespace hephy {

using git::Owned;

struct CommitReader::Impl {
  git_repository* repo;
  Owned<git_commit, git_commit_free> commit;
  Owned<git_tree, git_tree_free> tree;

  // The entry at `path`, owned by the caller; null when there is none.
  Owned<git_tree_entry, git_tree_entry_free> Entry(const std::string& path) const {
    git_tree_entry* entry = nullptr;
    if (git_tree_entry_bypath(&entry, tree.get(), path.c_str()) != 0) return nullptr;
    return Owned<git_tree_entry, git_tree_entry_free>(entry);
  }
};

CommitReader::CommitReader(git_repository* repo, const std::string& commit_id) {
  git::Init();
  git_oid oid;
  git_commit* commit = nullptr;
  if (git_oid_fromstr(&oid, commit_id.c_str()) != 0 ||
      git_commit_lookup(&commit, repo, &oid) != 0) {
    git::Throw("commit " + commit_id);
  }
  Owned<git_commit, git_commit_free> owned_commit(commit);
  git_tree* tree = nullptr;
  if (git_commit_tree(&tree, commit) != 0) git::Throw("tree of " + commit_id);
  impl_.reset(new Impl{repo, std::move(owned_commit), Owned<git_tree, git_tree_free>(tree)});
}

CommitReader::~CommitReader() = default;

std::optional<std::string> CommitReader::ReadFile(const std::string& path) const {
  const auto entry = impl_->Entry(path);
  if (!entry) return std::nullopt;
  const git_filemode_t mode = git_tree_entry_filemode(entry.get());
  if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) return std::nullopt;
  git_blob* blob = nullptr;
  if (git_blob_lookup(&blob, impl_->repo, git_tree_entry_id(entry.get())) != 0) git::Throw(path);
  const Owned<git_blob, git_blob_free> owned(blob);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob)), git_blob_rawsize(blob));
}

bool CommitReader::HasDirectory(const std::string& path) const {
  if (path.empty()) return true;
  const auto entry = impl_->Entry(path);
  return entry && git_tree_entry_filemode(entry.get()) == GIT_FILEMODE_TREE;
}

std::vector<std::string> CommitReader::FindFiles(const std::string& name) const {
  struct Walk {
    const std::string& name;
    std::vector<std::string> found;
  } walk{name, {}};
  const auto visit = [](const char* root, const git_tree_entry* entry, void* payload) -> int {
    auto& w = *static_cast<Walk*>(payload);
    const git_filemode_t mode = git_tree_entry_filemode(entry);
    if ((mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
        w.name == git_tree_entry_name(entry)) {
      w.found.push_back(std::string(root) + git_tree_entry_name(entry));
    }
    return 0;
  };
  if (git_tree_walk(impl_->tree.get(), GIT_TREEWALK_PRE, visit, &walk) != 0) {
    git::Throw("walking the tree");
  }
  return walk.found;
}

std::chrono::system_clock::time_point CommitReader::Time() const {
  return std::chrono::system_clock::from_time_t(git_commit_time(impl_->commit.get()));
}

}  // namespace hephy
