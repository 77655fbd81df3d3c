// Admission of one git command, over SSH or HTTP: may this user run this
// service on this app, and how is git started for it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "git/git_command.h"
#include "git/repo_store.h"
#include "hephy/config.h"
#include "hephy/store.h"
#include "util/process.h"

namespace hephy {

// How git talks to the client: one session (SSH), or HTTP's stateless
// exchanges, the ref advertisement first and then one request and its
// response per POST.
enum class GitExchange { kSession, kAdvertisement, kStatelessRpc };

struct GitAccessRequest {
  GitCommand command;
  // Who asks: a user, or else a deploy key (bound to one app).
  std::optional<User> user;
  std::optional<DeployKey> deploy_key;
  std::string key_fingerprint;
  std::string git_protocol;  // the client's GIT_PROTOCOL, e.g. "version=2"; may be empty
  std::string push_id;       // HEPHY_PUSH_ID for the hook (see NewPushId)
  GitExchange exchange = GitExchange::kSession;
};

// Whether `value`, a client's GIT_PROTOCOL (SSH) or Git-Protocol header
// (HTTP), may be passed to git: "version=2" and the like, nothing more.
bool IsWellFormedGitProtocol(std::string_view value);

// A random id naming one push in hephyd's logs, its builds and its audit
// record: 16 hex digits.
std::string NewPushId();

// The name a push is recorded under: the user's, or "deploy:FINGERPRINT".
std::string PusherName(const GitAccessRequest& request);

// Authorises the request (rights.h: the app's owner, a member, or an admin; a
// deploy key for its own app only; a user's push to an unknown app creates
// it when apps.auto_create), prepares the repository and returns how to
// start git for it. Throws Error with the message the client sees ("alice
// may not push to app 'web' (read access)").
SpawnOptions AdmitGitCommand(const GitAccessRequest& request, const Config& config, Store& store,
                             const RepoStore& repos);

}  // namespace hephy
