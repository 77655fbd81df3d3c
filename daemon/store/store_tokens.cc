// Store: API tokens of the HTTP API (migrations/0006_api_tokens.sql).
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>

#include "hephy/error.h"
#include "hephy/store.h"

namespace hephy {
namespace {

constexpr size_t kMaxTokenName = 64;

constexpr const char* kSelectToken =
    "SELECT t.id, u.name, t.name, t.created_at, ifnull(t.last_used_at, '')"
    " FROM api_tokens t JOIN users u ON u.id = t.user_id";

ApiToken ReadToken(SQLite::Statement& q) {
  return ApiToken{.id = q.getColumn(0).getInt64(),
                  .user = q.getColumn(1).getString(),
                  .name = q.getColumn(2).getString(),
                  .created_at = q.getColumn(3).getString(),
                  .last_used_at = q.getColumn(4).getString()};
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

}  // namespace

ApiToken Store::CreateApiToken(const std::string& user_name, const std::string& name,
                               const std::string& token_sha256) {
  ValidateTokenName(name);
  const auto user = FindUser(user_name);
  if (!user) throw Error("no user '" + user_name + "'");
  SQLite::Statement insert(*db_,
                           "INSERT INTO api_tokens (user_id, name, token_sha256) VALUES (?,?,?)");
  insert.bind(1, user->id);
  insert.bind(2, name);
  insert.bind(3, token_sha256);
  try {
    insert.exec();
  } catch (const SQLite::Exception& e) {
    if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE) {
      throw Error("this token is already recorded");
    }
    throw;
  }
  SQLite::Statement q(*db_, std::string(kSelectToken) + " WHERE t.id = ?");
  q.bind(1, db_->getLastInsertRowid());
  q.executeStep();
  return ReadToken(q);
}

std::vector<ApiToken> Store::ListApiTokens(const std::optional<std::string>& user) {
  if (user && !FindUser(*user)) throw Error("no user '" + *user + "'");
  SQLite::Statement q(
      *db_, std::string(kSelectToken) + " WHERE ?1 IS NULL OR u.name = ?1 ORDER BY u.name, t.id");
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
  SQLite::Statement q(*db_,
                      "SELECT u.id, u.name, u.admin, u.created_at, t.id FROM users u"
                      " JOIN api_tokens t ON t.user_id = u.id WHERE t.token_sha256 = ?");
  q.bind(1, token_sha256);
  if (!q.executeStep()) return std::nullopt;
  User user{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getInt() != 0,
            q.getColumn(3).getString()};
  const int64_t token_id = q.getColumn(4).getInt64();
  q.reset();
  SQLite::Statement used(*db_,
                         "UPDATE api_tokens SET last_used_at = datetime('now') WHERE id = ?"
                         " AND (last_used_at IS NULL OR last_used_at < datetime('now', '-60 "
                         "seconds'))");
  used.bind(1, token_id);
  used.exec();
  return user;
}

}  // namespace hephy
