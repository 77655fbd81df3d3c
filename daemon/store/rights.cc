#include "store/rights.h"

#include "hephy/error.h"

namespace hephy {

std::string_view Describe(AppAccess access) {
  switch (access) {
    case AppAccess::kNone:
      return "no access";
    case AppAccess::kRead:
      return "read access";
    case AppAccess::kWrite:
      return "write access";
    case AppAccess::kOwner:
      return "owner";
  }
  return "no access";
}

std::string_view AccessName(AppAccess access) {
  switch (access) {
    case AppAccess::kNone:
      return "none";
    case AppAccess::kRead:
      return "read";
    case AppAccess::kWrite:
      return "write";
    case AppAccess::kOwner:
      return "owner";
  }
  return "none";
}

AppAccess AccessOf(Store& store, const App& app, const User& user) {
  if (user.admin || app.owner == user.name) return AppAccess::kOwner;
  const auto member = store.MemberAccess(app.name, user.name);
  if (!member) return AppAccess::kNone;
  return *member == "write" ? AppAccess::kWrite : AppAccess::kRead;
}

AppAccess DeployKeyAccess(const DeployKey& key, const std::string& app) {
  if (key.app != app) return AppAccess::kNone;
  return key.access == "write" ? AppAccess::kWrite : AppAccess::kRead;
}

void RequireAccess(AppAccess have, AppAccess needed, const std::string& who,
                   std::string_view action, const std::string& app) {
  if (have >= needed) return;
  if (have == AppAccess::kNone) throw Error("no app '" + app + "'");
  throw Error(who + " may not " + std::string(action) + " app '" + app + "' (" +
              std::string(Describe(have)) + ")");
}

}  // namespace hephy
