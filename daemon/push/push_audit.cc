#include "push/push_audit.h"

#include "git/libgit2.h"

namespace hephy {
namespace {

constexpr size_t kMaxUpdatesShown = 20;

bool IsZeroId(const std::string& id) { return id.find_first_not_of('0') == std::string::npos; }

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

AuditEntry PushAuditEntry(const PushAttempt& push, const std::string& result) {
  std::string detail =
      (push.transport == "ssh" ? "key" : push.transport) + " " + push.key_fingerprint;
  if (push.updates) {
    const auto& updates = *push.updates;
    for (size_t i = 0; i < updates.size() && i < kMaxUpdatesShown; ++i) {
      detail += "; " + updates[i].ref + " " + updates[i].old_id.substr(0, 7) + ".." +
                updates[i].new_id.substr(0, 7);
    }
    if (updates.size() > kMaxUpdatesShown) {
      detail += "; and " + std::to_string(updates.size() - kMaxUpdatesShown) + " more ref updates";
    }
  }
  detail += "; " + FirstLine(result);
  return AuditEntry{push.user, "push", push.app, detail, push.remote};
}

std::string PushResult(const std::optional<PushVerdict>& verdict,
                       const std::vector<std::string>& not_updated, const std::string& ended) {
  if (!verdict) return "rejected: " + FirstLine(ended);
  if (!verdict->accepted) return "rejected: " + FirstLine(verdict->reason);
  if (not_updated.empty()) return "accepted";
  std::string refs;
  for (const auto& ref : not_updated) refs += (refs.empty() ? "" : ", ") + ref;
  return "rejected: hephyd accepted it, but git did not update " + refs;
}

std::string RanPushResult(const std::optional<PushVerdict>& verdict,
                          const std::filesystem::path& repo,
                          const std::optional<std::vector<RefUpdate>>& updates,
                          const std::string& ended) {
  std::vector<std::string> not_updated;
  if (verdict && verdict->accepted && updates) not_updated = RefsNotUpdated(repo, *updates);
  // Without a verdict the hook never answered: git stopped before it ran
  // it, or the push ended while hephyd was deciding.
  return PushResult(verdict, not_updated,
                    ended.starts_with("exit ")
                        ? "git ended the push before its pre-receive hook ran (" + ended + ")"
                        : ended);
}

std::vector<std::string> RefsNotUpdated(const std::filesystem::path& repo,
                                        const std::vector<RefUpdate>& updates) {
  git::Init();
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, repo.c_str()) != 0) git::Throw(repo.string());
  const git::Owned<git_repository, git_repository_free> owned(raw);
  std::vector<std::string> not_updated;
  for (const auto& update : updates) {
    git_oid now;
    const int found = git_reference_name_to_id(&now, raw, update.ref.c_str());
    if (found != 0 && found != GIT_ENOTFOUND) git::Throw(repo.string() + ": " + update.ref);
    const bool as_asked = IsZeroId(update.new_id)
                              ? found == GIT_ENOTFOUND
                              : found == 0 && git_oid_tostr_s(&now) == update.new_id;
    if (!as_asked) not_updated.push_back(update.ref);
  }
  return not_updated;
}

}  // namespace hephy
