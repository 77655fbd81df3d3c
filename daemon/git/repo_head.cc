#include "git/repo_head.h"

#include "git/libgit2.h"

namespace hephy {
namespace {

bool IsZeroId(const std::string& id) { return id.find_first_not_of('0') == std::string::npos; }

}  // namespace

std::optional<std::string> HeadAfterPush(const std::string& head,
                                         const std::set<std::string>& branches,
                                         const std::vector<RefUpdate>& updates) {
  std::set<std::string> after = branches;
  std::vector<std::string> pushed;
  for (const auto& update : updates) {
    if (!update.ref.starts_with("refs/heads/")) continue;
    if (IsZeroId(update.new_id)) {
      after.erase(update.ref);
    } else {
      after.insert(update.ref);
      pushed.push_back(update.ref);
    }
  }
  if (after.empty() || after.contains(head)) return std::nullopt;
  for (const char* preferred : {"refs/heads/main", "refs/heads/master"}) {
    if (after.contains(preferred)) return preferred;
  }
  return pushed.empty() ? *after.begin() : pushed.front();
}

std::optional<std::string> KeepHeadOnABranch(const std::filesystem::path& repo,
                                             const std::vector<RefUpdate>& updates) {
  git::Init();
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, repo.c_str()) != 0) git::Throw(repo.string());
  const git::Owned<git_repository, git_repository_free> owned(raw);

  git_reference* head_raw = nullptr;
  if (git_reference_lookup(&head_raw, raw, "HEAD") != 0) git::Throw(repo.string() + ": HEAD");
  const git::Owned<git_reference, git_reference_free> head(head_raw);
  // A detached HEAD names a commit, not a branch: someone set it so.
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) return std::nullopt;
  const std::string target = git_reference_symbolic_target(head.get());

  std::set<std::string> branches;
  git_reference_iterator* iterator_raw = nullptr;
  if (git_reference_iterator_glob_new(&iterator_raw, raw, "refs/heads/*") != 0) {
    git::Throw(repo.string() + ": refs/heads");
  }
  const git::Owned<git_reference_iterator, git_reference_iterator_free> iterator(iterator_raw);
  for (const char* name = nullptr; git_reference_next_name(&name, iterator.get()) == 0;) {
    branches.insert(name);
  }

  const auto branch = HeadAfterPush(target, branches, updates);
  if (!branch) return std::nullopt;
  git_reference* moved = nullptr;
  if (git_reference_symbolic_create(&moved, raw, "HEAD", branch->c_str(), 1,
                                    "hephyd: HEAD on a pushed branch") != 0) {
    git::Throw(repo.string() + ": cannot point HEAD at " + *branch);
  }
  git_reference_free(moved);
  return branch;
}

}  // namespace hephy
