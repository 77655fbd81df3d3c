// Who may do what to an app. Admins may do everything; an app's owner
// manages it and its members; a member reads (clone, fetch, builds, logs) or
// writes (also push and rebuild); anyone else has no access. One place for
// the rule, used by git over SSH, the commands and the HTTP API.
#pragma once

#include <string>
#include <string_view>

#include "hephy/store.h"

namespace hephy {

// Ordered: each level includes the ones before it.
enum class AppAccess { kNone, kRead, kWrite, kOwner };

// "no access", "read access", "write access", "owner": for messages.
std::string_view Describe(AppAccess access);

// "none", "read", "write", "owner": for JSON.
std::string_view AccessName(AppAccess access);

// What `user` may do to `app`: kOwner for admins and the owner, the
// member's access, or kNone.
AppAccess AccessOf(Store& store, const App& app, const User& user);

// What a deploy key may do to `app`: read or write its own app, nothing to
// any other.
AppAccess DeployKeyAccess(const DeployKey& key, const std::string& app);

// Throws Error saying who, what and why, as users read it: "alice may not
// push to app 'web' (read access)". `action` is what was asked: "push to",
// "fetch from", "read the builds of", "manage". Who has no access at all is
// told "no app 'web'", as for an app that does not exist: a refusal does
// not tell whether an app one cannot read exists.
void RequireAccess(AppAccess have, AppAccess needed, const std::string& who,
                   std::string_view action, const std::string& app);

}  // namespace hephy
