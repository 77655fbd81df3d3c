// Store: API tokens of the HTTP API and deploy tokens of git over HTTP(S),
// in one table (migrations/0006_api_tokens.sql, 0008_deploy_tokens.sql).
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>

#include "hephy/error.h"
#include "hephy/store.h"

namespace hephy {
namespace {

constexpr size_t kMaxTokenName = 64;

// A user's token has a user and no app; a deploy token the other way round
// (the table's CHECKs), so each join finds one of them.
constexpr const char* kSelectToken =
    "SELECT t.id, ifnull(u.name, ''), ifnull(a.name, ''), ifnull(t.access, ''), t.name,"
    " t.created_at, ifnull(t.last_used_at, '') FROM api_tokens t"
    " LEFT JOIN users u ON u.id = t.user_id LEFT JOIN apps a ON a.id = t.app_id";

ApiToken ReadToken(SQLite::Statement& q) {
  return ApiToken{.id = q.getColumn(0).getInt64(),
                  .user = q.getColumn(1).getString(),
                  .app = q.getColumn(2).getString(),
                  .access = q.getColumn(3).getString(),
                  .name = q.getColumn(4).getString(),
                  .created_at = q.getColumn(5).getString(),
                  .last_used_at = q.getColumn(6).getString()};
}

void ValidateTokenName(const std::string& name) {
  if (name.size() > kMaxTokenName) {
    throw Error("token name '" + name + "' is longer than " + std::to_string(kMaxTokenName) +
                " characters");
  }
  if (std::any_of(name.begin(), name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw Error("token name must not contain control characters");
  }
}

// Inserts a token of a user or an app (the other 0) and returns it.
ApiToken InsertToken(SQLite::Database& db, int64_t user_id, int64_t app_id,
                     const std::string& access, const std::string& name,
                     const std::string& token_sha256) {
  SQLite::Statement insert(db,
                           "INSERT INTO api_tokens (user_id, app_id, access, name, token_sha256)"
                           " VALUES (nullif(?1, 0), nullif(?2, 0), nullif(?3, ''), ?4, ?5)");
  insert.bind(1, user_id);
  insert.bind(2, app_id);
  insert.bind(3, access);
  insert.bind(4, name);
  insert.bind(5, token_sha256);
  try {
    insert.exec();
  } catch (const SQLite::Exception& e) {
    if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE) {
      throw Error("this token is already recorded");
    }
    throw;
  }
  SQLite::Statement q(db, std::string(kSelectToken) + " WHERE t.id = ?");
  q.bind(1, db.getLastInsertRowid());
  q.executeStep();
  return ReadToken(q);
}

// Records that token `id` was used, at most once a minute, so that requests
// do not each write to the database.
void RecordUse(SQLite::Database& db, int64_t id) {
  SQLite::Statement used(db,
                         "UPDATE api_tokens SET last_used_at = datetime('now') WHERE id = ?"
                         " AND (last_used_at IS NULL OR last_used_at < datetime('now', '-60 "
                         "seconds'))");
  used.bind(1, id);
  used.exec();
}

}  // namespace

ApiToken Store::CreateApiToken(const std::string& user_name, const std::string& name,
                               const std::string& token_sha256) {
  ValidateTokenName(name);
  const auto user = FindUser(user_name);
  if (!user) throw Error("no user '" + user_name + "'");
  return InsertToken(*db_, user->id, 0, "", name, token_sha256);
}

ApiToken Store::CreateDeployToken(const std::string& app_name, const std::string& access,
                                  const std::string& name, const std::string& token_sha256) {
  if (access != "read" && access != "write") {
    throw Error("invalid access '" + access + "' (expected read or write)");
  }
  ValidateTokenName(name);
  const auto app = FindApp(app_name);
  if (!app) throw Error("no app '" + app_name + "'");
  return InsertToken(*db_, 0, app->id, access, name, token_sha256);
}

std::vector<ApiToken> Store::ListApiTokens(const std::optional<std::string>& user) {
  if (user && !FindUser(*user)) throw Error("no user '" + *user + "'");
  // Users' tokens by user, then deploy tokens by app.
  SQLite::Statement q(*db_, std::string(kSelectToken) +
                                " WHERE ?1 IS NULL OR u.name = ?1"
                                " ORDER BY t.user_id IS NULL, u.name, a.name, t.id");
  if (user) q.bind(1, *user);
  std::vector<ApiToken> tokens;
  while (q.executeStep()) tokens.push_back(ReadToken(q));
  return tokens;
}

ApiToken Store::RevokeApiToken(int64_t id) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement q(*db_, std::string(kSelectToken) + " WHERE t.id = ?");
  q.bind(1, id);
  if (!q.executeStep()) throw Error("no token " + std::to_string(id));
  ApiToken token = ReadToken(q);
  SQLite::Statement remove(*db_, "DELETE FROM api_tokens WHERE id = ?");
  remove.bind(1, id);
  remove.exec();
  tx.commit();
  return token;
}

std::optional<User> Store::FindUserByApiToken(const std::string& token_sha256) {
  // The join on user_id never matches a deploy token, whose user_id is NULL.
  SQLite::Statement q(*db_,
                      "SELECT u.id, u.name, u.admin, u.created_at, t.id FROM users u"
                      " JOIN api_tokens t ON t.user_id = u.id WHERE t.token_sha256 = ?");
  q.bind(1, token_sha256);
  if (!q.executeStep()) return std::nullopt;
  User user{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getInt() != 0,
            q.getColumn(3).getString()};
  const int64_t token_id = q.getColumn(4).getInt64();
  q.reset();
  RecordUse(*db_, token_id);
  return user;
}

std::optional<ApiToken> Store::FindDeployToken(const std::string& token_sha256) {
  SQLite::Statement q(
      *db_, std::string(kSelectToken) + " WHERE t.token_sha256 = ? AND t.app_id IS NOT NULL");
  q.bind(1, token_sha256);
  if (!q.executeStep()) return std::nullopt;
  ApiToken token = ReadToken(q);
  q.reset();
  RecordUse(*db_, token.id);
  return token;
}

}  // namespace hephy
