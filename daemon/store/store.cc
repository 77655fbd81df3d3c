#include "hephy/store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "hephy/error.h"
#include "store/migrations.h"
#include "util/names.h"

namespace hephy {
namespace {

User ReadUser(SQLite::Statement& q) {
  return User{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getInt() != 0,
              q.getColumn(3).getString()};
}

App ReadApp(SQLite::Statement& q) {
  App app{q.getColumn(0).getInt64(), q.getColumn(1).getString(), std::nullopt,
          q.getColumn(3).getString()};
  if (!q.getColumn(2).isNull()) app.owner = q.getColumn(2).getString();
  return app;
}

// As audit_log.at holds times (migrations/0002), so that they compare as text.
std::string AuditTime(std::chrono::system_clock::time_point when) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(when);
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(when - seconds).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms));
  return text;
}

constexpr const char* kSelectUser = "SELECT id, name, admin, created_at FROM users";
constexpr const char* kSelectApp =
    "SELECT a.id, a.name, u.name, a.created_at FROM apps a LEFT JOIN users u ON u.id = a.owner_id";

}  // namespace

Store::Store(const std::filesystem::path& path) {
  try {
    db_ = std::make_unique<SQLite::Database>(path.string(),
                                             SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->setBusyTimeout(10000);
    db_->exec("PRAGMA journal_mode = WAL");
    db_->exec("PRAGMA synchronous = NORMAL");
    db_->exec("PRAGMA foreign_keys = ON");
  } catch (const SQLite::Exception& e) {
    throw Error(path.string() + ": cannot open database: " + e.what());
  }
}

Store::~Store() = default;

int Store::Migrate() { return ApplyMigrations(*db_, EmbeddedMigrations()); }

User Store::AddUser(const std::string& name, bool admin) {
  ValidateUserName(name);
  if (FindUser(name)) throw Error("user '" + name + "' already exists");
  SQLite::Statement insert(*db_, "INSERT INTO users (name, admin) VALUES (?, ?)");
  insert.bind(1, name);
  insert.bind(2, admin ? 1 : 0);
  insert.exec();
  return *FindUser(name);
}

std::vector<User> Store::ListUsers() {
  SQLite::Statement q(*db_, std::string(kSelectUser) + " ORDER BY name");
  std::vector<User> users;
  while (q.executeStep()) users.push_back(ReadUser(q));
  return users;
}

std::optional<User> Store::FindUser(const std::string& name) {
  SQLite::Statement q(*db_, std::string(kSelectUser) + " WHERE name = ?");
  q.bind(1, name);
  if (!q.executeStep()) return std::nullopt;
  return ReadUser(q);
}

std::vector<std::string> Store::RemoveUser(const std::string& name) {
  const auto user = FindUser(name);
  if (!user) throw Error("no user '" + name + "'");
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement owned(*db_, "SELECT name FROM apps WHERE owner_id = ? ORDER BY name");
  owned.bind(1, user->id);
  std::vector<std::string> apps;
  while (owned.executeStep()) apps.push_back(owned.getColumn(0).getString());
  SQLite::Statement orphan(*db_, "UPDATE apps SET owner_id = NULL WHERE owner_id = ?");
  orphan.bind(1, user->id);
  orphan.exec();
  SQLite::Statement remove(*db_, "DELETE FROM users WHERE id = ?");
  remove.bind(1, user->id);
  remove.exec();
  tx.commit();
  return apps;
}

void Store::AddKeys(const std::string& user_name, const std::vector<PublicKey>& keys) {
  const auto user = FindUser(user_name);
  if (!user) throw Error("no user '" + user_name + "'");
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  for (size_t i = 0; i < keys.size(); ++i) {
    const PublicKey& key = keys[i];
    for (size_t j = 0; j < i; ++j) {
      if (keys[j].fingerprint == key.fingerprint) {
        throw Error("key " + key.fingerprint + " is given twice");
      }
    }
    if (const auto deploy = FindDeployKey(key.fingerprint)) {
      throw Error("key " + key.fingerprint + " is already a deploy key of app '" + deploy->app +
                  "'");
    }
    if (const auto holder = FindUserByKey(key.fingerprint)) {
      throw Error("key " + key.fingerprint + " is already registered" +
                  (holder->name == user_name ? " for '" + user_name + "'"
                                             : " to another user ('" + holder->name + "')"));
    }
    SQLite::Statement insert(
        *db_,
        "INSERT INTO ssh_keys (user_id, type, blob, comment, bits, fingerprint)"
        " VALUES (?,?,?,?,?,?)");
    insert.bind(1, user->id);
    insert.bind(2, key.type);
    insert.bind(3, key.base64);
    insert.bind(4, key.comment);
    insert.bind(5, key.bits);
    insert.bind(6, key.fingerprint);
    insert.exec();
  }
  tx.commit();
}

std::vector<StoredKey> Store::ListKeys(const std::optional<std::string>& user) {
  if (user && !FindUser(*user)) throw Error("no user '" + *user + "'");
  SQLite::Statement q(*db_,
                      "SELECT k.id, u.name, k.type, k.blob, k.comment, k.fingerprint, k.bits,"
                      " k.created_at FROM ssh_keys k JOIN users u ON u.id = k.user_id"
                      " WHERE ?1 IS NULL OR u.name = ?1 ORDER BY u.name, k.id");
  if (user) q.bind(1, *user);
  std::vector<StoredKey> keys;
  while (q.executeStep()) {
    StoredKey k;
    k.id = q.getColumn(0).getInt64();
    k.user = q.getColumn(1).getString();
    k.key =
        PublicKey{q.getColumn(2).getString(), q.getColumn(3).getString(),
                  q.getColumn(4).getString(), q.getColumn(5).getString(), q.getColumn(6).getInt()};
    k.created_at = q.getColumn(7).getString();
    keys.push_back(std::move(k));
  }
  return keys;
}

void Store::RemoveKey(const std::string& fingerprint) {
  for (const char* table : {"ssh_keys", "deploy_keys"}) {
    SQLite::Statement remove(*db_, std::string("DELETE FROM ") + table + " WHERE fingerprint = ?");
    remove.bind(1, fingerprint);
    if (remove.exec() > 0) return;
  }
  throw Error("no key with fingerprint '" + fingerprint + "'");
}

std::optional<StoredKey> Store::FindKey(const std::string& fingerprint) {
  SQLite::Statement q(*db_,
                      "SELECT k.id, u.name, k.type, k.blob, k.comment, k.fingerprint, k.bits,"
                      " k.created_at FROM ssh_keys k JOIN users u ON u.id = k.user_id"
                      " WHERE k.fingerprint = ?");
  q.bind(1, fingerprint);
  if (!q.executeStep()) return std::nullopt;
  StoredKey k;
  k.id = q.getColumn(0).getInt64();
  k.user = q.getColumn(1).getString();
  k.key =
      PublicKey{q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).getString(),
                q.getColumn(5).getString(), q.getColumn(6).getInt()};
  k.created_at = q.getColumn(7).getString();
  return k;
}

std::optional<User> Store::FindUserByKey(const std::string& fingerprint) {
  SQLite::Statement q(*db_,
                      "SELECT u.id, u.name, u.admin, u.created_at FROM users u"
                      " JOIN ssh_keys k ON k.user_id = u.id WHERE k.fingerprint = ?");
  q.bind(1, fingerprint);
  if (!q.executeStep()) return std::nullopt;
  return ReadUser(q);
}

App Store::CreateApp(const std::string& name, const std::optional<std::string>& owner) {
  ValidateAppName(name);
  std::optional<int64_t> owner_id;
  if (owner) {
    const auto user = FindUser(*owner);
    if (!user) throw Error("no user '" + *owner + "'");
    owner_id = user->id;
  }
  SQLite::Statement insert(*db_, "INSERT INTO apps (name, owner_id) VALUES (?, ?)");
  insert.bind(1, name);
  if (owner_id) insert.bind(2, *owner_id);
  try {
    insert.exec();
  } catch (const SQLite::Exception& e) {
    // Checked by the UNIQUE constraint, not a prior SELECT: two first pushes
    // to one new app may race, and exactly one must win.
    if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE) {
      throw Error("app '" + name + "' already exists");
    }
    throw;
  }
  return *FindApp(name);
}

std::vector<App> Store::ListApps() {
  SQLite::Statement q(*db_, std::string(kSelectApp) + " ORDER BY a.name");
  std::vector<App> apps;
  while (q.executeStep()) apps.push_back(ReadApp(q));
  return apps;
}

std::optional<App> Store::FindApp(const std::string& name) {
  SQLite::Statement q(*db_, std::string(kSelectApp) + " WHERE a.name = ?");
  q.bind(1, name);
  if (!q.executeStep()) return std::nullopt;
  return ReadApp(q);
}

std::optional<std::string> Store::MemberAccess(const std::string& app, const std::string& user) {
  SQLite::Statement q(*db_,
                      "SELECT m.access FROM app_members m JOIN apps a ON a.id = m.app_id"
                      " JOIN users u ON u.id = m.user_id WHERE a.name = ? AND u.name = ?");
  q.bind(1, app);
  q.bind(2, user);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

void Store::Ping() {
  try {
    db_->execAndGet("SELECT count(*) FROM schema_migrations");
  } catch (const SQLite::Exception& e) {
    throw Error(db_->getFilename() + ": " + e.what());
  }
}

void Store::Audit(const AuditEntry& entry) {
  SQLite::Statement insert(
      *db_, "INSERT INTO audit_log (actor, action, target, detail, remote) VALUES (?,?,?,?,?)");
  insert.bind(1, entry.actor);
  insert.bind(2, entry.action);
  insert.bind(3, entry.target);
  insert.bind(4, entry.detail);
  insert.bind(5, entry.remote);
  insert.exec();
}

std::vector<AuditEntry> Store::ListAudit(std::optional<std::chrono::system_clock::time_point> since,
                                         int limit) {
  // Newest first to apply the limit, then turned around.
  SQLite::Statement q(*db_,
                      "SELECT id, at, actor, action, target, detail, remote FROM audit_log"
                      " WHERE ?1 IS NULL OR at >= ?1 ORDER BY id DESC LIMIT ?2");
  // The clock's first instant is before any entry (and has no text of ours).
  if (since && *since != std::chrono::system_clock::time_point::min()) {
    q.bind(1, AuditTime(*since));
  }
  q.bind(2, limit > 0 ? limit : -1);
  std::vector<AuditEntry> entries;
  while (q.executeStep()) {
    AuditEntry e{q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).getString(),
                 q.getColumn(5).getString(), q.getColumn(6).getString()};
    e.id = q.getColumn(0).getInt64();
    e.at = q.getColumn(1).getString();
    entries.push_back(std::move(e));
  }
  std::reverse(entries.begin(), entries.end());
  return entries;
}

}  // namespace hephy
