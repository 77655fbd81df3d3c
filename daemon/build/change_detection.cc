#include "build/change_detection.h"

#include <algorithm>

#include "git/libgit2.h"

namespace hephy {
namespace {

using git::Owned;

Owned<git_tree, git_tree_free> TreeOf(git_repository* repo, const std::string& commit_id) {
  git_oid oid;
  git_commit* commit = nullptr;
  if (git_oid_fromstr(&oid, commit_id.c_str()) != 0 ||
      git_commit_lookup(&commit, repo, &oid) != 0) {
    git::Throw("commit " + commit_id);
  }
  const Owned<git_commit, git_commit_free> owned(commit);
  git_tree* tree = nullptr;
  if (git_commit_tree(&tree, commit) != 0) git::Throw("tree of " + commit_id);
  return Owned<git_tree, git_tree_free>(tree);
}

// Whether `path` is `dir` or lies under it; everything lies under "".
bool Under(const std::string& path, const std::string& dir) {
  if (dir.empty()) return true;
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

}  // namespace

std::vector<std::string> ChangedPaths(git_repository* repo, const std::string& old_commit,
                                      const std::string& new_commit) {
  git::Init();
  const auto old_tree = TreeOf(repo, old_commit);
  const auto new_tree = TreeOf(repo, new_commit);
  git_diff* raw = nullptr;
  if (git_diff_tree_to_tree(&raw, repo, old_tree.get(), new_tree.get(), nullptr) != 0) {
    git::Throw("diff " + old_commit.substr(0, 7) + ".." + new_commit.substr(0, 7));
  }
  const Owned<git_diff, git_diff_free> diff(raw);
  // Without rename detection a rename is a deletion plus an addition, so
  // both of its paths are listed.
  std::vector<std::string> paths;
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
    paths.emplace_back(delta->status == GIT_DELTA_ADDED ? delta->new_file.path
                                                        : delta->old_file.path);
  }
  return paths;
}

bool UnitChanged(const BuildUnit& unit, const std::vector<std::string>& paths) {
  return std::any_of(paths.begin(), paths.end(), [&](const std::string& path) {
    if (Under(path, unit.dir)) return true;
    if (unit.upstream()) return false;
    return Under(path, unit.ContextDir()) || path == unit.DockerfilePath();
  });
}

}  // namespace hephy
