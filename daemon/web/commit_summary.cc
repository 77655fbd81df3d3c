#include "web/commit_summary.h"

#include "git/libgit2.h"

namespace hephy {

std::optional<CommitSummary> ReadCommitSummary(const std::filesystem::path& repo,
                                               const std::string& commit_id) {
  git::Init();
  git_repository* raw_repo = nullptr;
  if (git_repository_open_bare(&raw_repo, repo.c_str()) != 0) return std::nullopt;
  const git::Owned<git_repository, git_repository_free> opened(raw_repo);
  git_oid oid;
  if (git_oid_fromstr(&oid, commit_id.c_str()) != 0) return std::nullopt;
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, raw_repo, &oid) != 0) return std::nullopt;
  const git::Owned<git_commit, git_commit_free> commit(raw_commit);
  const git_signature* author = git_commit_author(raw_commit);
  const char* message = git_commit_message(raw_commit);
  CommitSummary summary;
  if (author != nullptr) {
    summary.author = std::string(author->name ? author->name : "") + " <" +
                     (author->email ? author->email : "") + ">";
  }
  summary.message = message ? message : "";
  while (!summary.message.empty() && summary.message.back() == '\n') summary.message.pop_back();
  return summary;
}

}  // namespace hephy
