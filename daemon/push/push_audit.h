// The audit record of one push, over SSH or HTTP(S): who pushed what to which
// app, from where and with which key or token, and how it ended. Written by
// the SSH session or the HTTP exchange when the push is over (see
// docs/hephyd.md, PUSHES).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "git/push_request.h"
#include "hephy/store.h"

namespace hephy {

struct PushAttempt {
  std::string user;
  std::string key_fingerprint;  // over HTTP(S): "token", or "token:ID" for a deploy token
  std::string app;
  std::string remote;  // the client's address
  // What the client asked git to update; nothing when that is unknown (git
  // never started, or the client went away before it said).
  std::optional<std::vector<RefUpdate>> updates;
  std::string transport = "ssh";  // or "http", "https"
};

// Action "push" on the app, by the user, from the remote address; the detail
// is "key FINGERPRINT; REF OLD..NEW; ...; RESULT" over SSH, and begins
// "https token:ID; " (or "http ...") over HTTP; commits shortened to 7
// digits, at most 20 ref updates (then "and N more ref updates").
AuditEntry PushAuditEntry(const PushAttempt& push, const std::string& result);

// The result of a push git ran: "accepted" when hephyd accepted it and git
// made every update; else "rejected: " and why: hephyd's reason, the refs git
// did not update after all, or, without a verdict (the hook never ran, or
// the push ended before hephyd decided), `ended` ("client disconnected").
std::string PushResult(const std::optional<PushVerdict>& verdict,
                       const std::vector<std::string>& not_updated, const std::string& ended);

// PushResult of a push git ran in the bare repository `repo`, where git's
// process ended as `ended` ("exit N", "client disconnected"): the refs it did
// not update are read from `repo` when hephyd accepted the push. Throws Error
// when the repository cannot be read.
std::string RanPushResult(const std::optional<PushVerdict>& verdict,
                          const std::filesystem::path& repo,
                          const std::optional<std::vector<RefUpdate>>& updates,
                          const std::string& ended);

// The refs of `updates` that the bare repository `repo` does not hold as
// asked: not at new_id, or still there when new_id is all zeros (a deletion).
// Throws Error when the repository cannot be read.
std::vector<std::string> RefsNotUpdated(const std::filesystem::path& repo,
                                        const std::vector<RefUpdate>& updates);

}  // namespace hephy
