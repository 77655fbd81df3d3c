// Who besides an app's owner may use it: members and deploy keys.
#include <SQLiteCpp/SQLiteCpp.h>

#include "hephy/error.h"
#include "hephy/store.h"

namespace hephy {
namespace {

void CheckAccess(const std::string& access) {
  if (access != "read" && access != "write") {
    throw Error("invalid access '" + access + "' (expected read or write)");
  }
}

constexpr const char* kSelectDeployKey =
    "SELECT d.id, a.name, d.access, d.type, d.blob, d.comment, d.fingerprint, d.bits,"
    " d.added_by, d.created_at FROM deploy_keys d JOIN apps a ON a.id = d.app_id";

DeployKey ReadDeployKey(SQLite::Statement& q) {
  DeployKey key;
  key.id = q.getColumn(0).getInt64();
  key.app = q.getColumn(1).getString();
  key.access = q.getColumn(2).getString();
  key.key =
      PublicKey{q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getString(),
                q.getColumn(6).getString(), q.getColumn(7).getInt()};
  key.added_by = q.getColumn(8).getString();
  key.created_at = q.getColumn(9).getString();
  return key;
}

// Both must exist: a membership names an app and a user.
std::pair<App, User> AppAndUser(Store& store, const std::string& app_name,
                                const std::string& user_name) {
  auto app = store.FindApp(app_name);
  if (!app) throw Error("no app '" + app_name + "'");
  auto user = store.FindUser(user_name);
  if (!user) throw Error("no user '" + user_name + "'");
  return {std::move(*app), std::move(*user)};
}

}  // namespace

void Store::DeleteApp(const std::string& name) {
  // Members, deploy keys and builds (with their jobs and tags) go with it:
  // their foreign keys cascade.
  SQLite::Statement remove(*db_, "DELETE FROM apps WHERE name = ?");
  remove.bind(1, name);
  if (remove.exec() == 0) throw Error("no app '" + name + "'");
}

void Store::SetMember(const std::string& app_name, const std::string& user_name,
                      const std::string& access) {
  CheckAccess(access);
  const auto [app, user] = AppAndUser(*this, app_name, user_name);
  SQLite::Statement upsert(*db_,
                           "INSERT INTO app_members (app_id, user_id, access) VALUES (?, ?, ?)"
                           " ON CONFLICT (app_id, user_id) DO UPDATE SET access = excluded.access");
  upsert.bind(1, app.id);
  upsert.bind(2, user.id);
  upsert.bind(3, access);
  upsert.exec();
}

bool Store::RemoveMember(const std::string& app_name, const std::string& user_name) {
  const auto [app, user] = AppAndUser(*this, app_name, user_name);
  SQLite::Statement remove(*db_, "DELETE FROM app_members WHERE app_id = ? AND user_id = ?");
  remove.bind(1, app.id);
  remove.bind(2, user.id);
  return remove.exec() > 0;
}

std::vector<Member> Store::ListMembers(const std::string& app_name) {
  const auto app = FindApp(app_name);
  if (!app) throw Error("no app '" + app_name + "'");
  SQLite::Statement q(*db_,
                      "SELECT u.name, m.access, m.created_at FROM app_members m"
                      " JOIN users u ON u.id = m.user_id WHERE m.app_id = ? ORDER BY u.name");
  q.bind(1, app->id);
  std::vector<Member> members;
  while (q.executeStep()) {
    members.push_back(
        {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
  }
  return members;
}

std::vector<DeployKey> Store::AddDeployKeys(const std::string& app_name,
                                            const std::vector<PublicKey>& keys,
                                            const std::string& access,
                                            const std::string& added_by) {
  CheckAccess(access);
  const auto app = FindApp(app_name);
  if (!app) throw Error("no app '" + app_name + "'");
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  std::vector<DeployKey> added;
  for (const auto& key : keys) {
    if (const auto holder = FindUserByKey(key.fingerprint)) {
      throw Error("key " + key.fingerprint + " is already registered to user '" + holder->name +
                  "'");
    }
    if (const auto existing = FindDeployKey(key.fingerprint)) {
      throw Error("key " + key.fingerprint + " is already a deploy key of app '" + existing->app +
                  "'");
    }
    SQLite::Statement insert(*db_,
                             "INSERT INTO deploy_keys (app_id, access, type, blob, comment, bits,"
                             " fingerprint, added_by) VALUES (?,?,?,?,?,?,?,?)");
    insert.bind(1, app->id);
    insert.bind(2, access);
    insert.bind(3, key.type);
    insert.bind(4, key.base64);
    insert.bind(5, key.comment);
    insert.bind(6, key.bits);
    insert.bind(7, key.fingerprint);
    insert.bind(8, added_by);
    insert.exec();
    added.push_back(*FindDeployKey(key.fingerprint));
  }
  tx.commit();
  return added;
}

std::vector<DeployKey> Store::ListDeployKeys(const std::optional<std::string>& app) {
  if (app && !FindApp(*app)) throw Error("no app '" + *app + "'");
  SQLite::Statement q(*db_, std::string(kSelectDeployKey) +
                                " WHERE ?1 IS NULL OR a.name = ?1 ORDER BY a.name, d.id");
  if (app) q.bind(1, *app);
  std::vector<DeployKey> keys;
  while (q.executeStep()) keys.push_back(ReadDeployKey(q));
  return keys;
}

std::optional<DeployKey> Store::FindDeployKey(const std::string& fingerprint) {
  SQLite::Statement q(*db_, std::string(kSelectDeployKey) + " WHERE d.fingerprint = ?");
  q.bind(1, fingerprint);
  if (!q.executeStep()) return std::nullopt;
  return ReadDeployKey(q);
}

}  // namespace hephy
