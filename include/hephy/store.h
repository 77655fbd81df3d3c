// The daemon's state in SQLite (WAL): users, SSH keys, apps and their members,
// and the audit log. The schema comes only from migrations/NNNN_*.sql.
//
// A Store is one connection: not thread-safe; give each thread its own. Many
// connections to one file are fine (WAL, busy timeout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hephy/ssh_key.h"

namespace SQLite {
class Database;
}

namespace hephy {

struct User {
  int64_t id = 0;
  std::string name;
  bool admin = false;
  std::string created_at;  // UTC, "YYYY-MM-DD HH:MM:SS"
};

struct StoredKey {
  int64_t id = 0;
  std::string user;
  PublicKey key;
  std::string created_at;
};

struct App {
  int64_t id = 0;
  std::string name;
  std::optional<std::string> owner;  // none: managed by admins only
  std::string created_at;
};

struct AuditEntry {
  std::string actor;   // user name, or "cli" for the host's command line
  std::string action;  // e.g. "users.add", "push"
  std::string target;  // e.g. user or app name
  std::string detail;  // free text: result, refs, fingerprint
  std::string remote;  // remote address, empty for the CLI
};

class Store {
 public:
  // Opens (creating if needed) the database at `path`. Does not migrate.
  explicit Store(const std::filesystem::path& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies the migrations compiled into this binary that the database lacks,
  // each in its own transaction. Returns how many were applied. Throws Error
  // when the database has a migration this binary does not know, or one whose
  // text differs from the file it was applied from.
  int Migrate();

  // Users. Names follow ValidateUserName. Add throws Error when the name is
  // taken; Remove when it is unknown. Removing a user removes their keys and
  // memberships; the apps they owned are left to admins. Returns those apps.
  User AddUser(const std::string& name, bool admin);
  std::vector<User> ListUsers();
  std::optional<User> FindUser(const std::string& name);
  std::vector<std::string> RemoveUser(const std::string& name);

  // SSH keys. Adds all of `keys` or, when one is already registered (or
  // appears twice), none: throws Error naming the key and its holder.
  void AddKeys(const std::string& user, const std::vector<PublicKey>& keys);
  std::vector<StoredKey> ListKeys(const std::optional<std::string>& user);
  void RemoveKey(const std::string& fingerprint);
  // The user a key (by fingerprint) belongs to: the authentication check.
  std::optional<User> FindUserByKey(const std::string& fingerprint);

  // Apps. CreateApp throws Error when the name is taken or the owner unknown.
  App CreateApp(const std::string& name, const std::optional<std::string>& owner);
  std::vector<App> ListApps();
  std::optional<App> FindApp(const std::string& name);
  // "read" or "write" when `user` is a member of `app`.
  std::optional<std::string> MemberAccess(const std::string& app, const std::string& user);

  void Audit(const AuditEntry& entry);
  std::vector<AuditEntry> ListAudit();

 private:
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace hephy
