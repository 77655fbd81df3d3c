// Store: deploy tokens beside users' API tokens in one table, one id space,
// and each kind found only as itself.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "hephy/error.h"
#include "hephy/store.h"
#include "test_dir.h"

namespace hephy {
namespace {

// Hashes as the store sees them; any distinct text does.
const std::string kUserHash(64, 'a');
const std::string kReadHash(64, 'b');
const std::string kWriteHash(64, 'c');

class StoreTokensTest : public ::testing::Test {
 protected:
  StoreTokensTest() : store_(dir_.path() / "hephy.db") {
    store_.Migrate();
    store_.AddUser("alice", false);
    store_.CreateApp("web", "alice");
    store_.CreateApp("api", std::nullopt);
  }
  TestDir dir_;
  Store store_;
};

TEST_F(StoreTokensTest, DeployTokensAreCreatedAndFoundByTheirHash) {
  const ApiToken created = store_.CreateDeployToken("web", "read", "gitlab", kReadHash);
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.user, "");
  EXPECT_EQ(created.app, "web");
  EXPECT_EQ(created.access, "read");
  EXPECT_EQ(created.name, "gitlab");
  EXPECT_NE(created.created_at, "");
  EXPECT_EQ(created.last_used_at, "");

  const auto found = store_.FindDeployToken(kReadHash);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, created.id);
  EXPECT_EQ(found->app, "web");
  EXPECT_EQ(found->access, "read");
  // The use is recorded, as for a user's token.
  EXPECT_NE(store_.FindDeployToken(kReadHash)->last_used_at, "");

  const ApiToken writer = store_.CreateDeployToken("api", "write", "", kWriteHash);
  EXPECT_EQ(store_.FindDeployToken(kWriteHash)->access, "write");
  EXPECT_EQ(store_.FindDeployToken(kWriteHash)->app, "api");
  EXPECT_NE(writer.id, created.id);
  EXPECT_FALSE(store_.FindDeployToken(std::string(64, 'f')));
}

TEST_F(StoreTokensTest, AUsersTokenIsNeverADeployTokenNorTheOtherWayRound) {
  store_.CreateApiToken("alice", "", kUserHash);
  store_.CreateDeployToken("web", "write", "", kWriteHash);
  EXPECT_EQ(store_.FindUserByApiToken(kUserHash)->name, "alice");
  EXPECT_FALSE(store_.FindDeployToken(kUserHash));
  EXPECT_TRUE(store_.FindDeployToken(kWriteHash));
  EXPECT_FALSE(store_.FindUserByApiToken(kWriteHash));
  // A hash is recorded once, whichever kind holds it.
  EXPECT_THROW(store_.CreateDeployToken("web", "read", "", kUserHash), Error);
  EXPECT_THROW(store_.CreateApiToken("alice", "", kWriteHash), Error);
}

TEST_F(StoreTokensTest, ListingShowsBothKindsOrOneUsers) {
  store_.AddUser("bob", false);
  store_.CreateDeployToken("web", "read", "ci", kReadHash);
  store_.CreateApiToken("bob", "laptop", kUserHash);
  store_.CreateDeployToken("api", "write", "", kWriteHash);

  const auto all = store_.ListApiTokens(std::nullopt);
  ASSERT_EQ(all.size(), 3u);
  // Users' tokens first, then deploy tokens by app.
  EXPECT_EQ(all[0].user, "bob");
  EXPECT_EQ(all[0].app, "");
  EXPECT_EQ(all[0].access, "");
  EXPECT_EQ(all[1].app, "api");
  EXPECT_EQ(all[1].access, "write");
  EXPECT_EQ(all[1].user, "");
  EXPECT_EQ(all[2].app, "web");
  EXPECT_EQ(all[2].name, "ci");

  const auto bobs = store_.ListApiTokens("bob");
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0].name, "laptop");
  EXPECT_TRUE(store_.ListApiTokens("alice").empty());
}

TEST_F(StoreTokensTest, RevokeTakesEitherKindByItsId) {
  const ApiToken users = store_.CreateApiToken("alice", "", kUserHash);
  const ApiToken deploy = store_.CreateDeployToken("web", "read", "ci", kReadHash);
  const ApiToken revoked = store_.RevokeApiToken(deploy.id);
  EXPECT_EQ(revoked.app, "web");
  EXPECT_EQ(revoked.access, "read");
  EXPECT_EQ(revoked.name, "ci");
  EXPECT_FALSE(store_.FindDeployToken(kReadHash));
  EXPECT_THROW(store_.RevokeApiToken(deploy.id), Error);
  EXPECT_EQ(store_.RevokeApiToken(users.id).user, "alice");
  EXPECT_FALSE(store_.FindUserByApiToken(kUserHash));
  EXPECT_TRUE(store_.ListApiTokens(std::nullopt).empty());
}

TEST_F(StoreTokensTest, DeletingAnAppDeletesItsDeployTokensOnly) {
  store_.CreateApiToken("alice", "", kUserHash);
  store_.CreateDeployToken("web", "read", "", kReadHash);
  store_.CreateDeployToken("api", "write", "", kWriteHash);
  store_.DeleteApp("web");
  EXPECT_FALSE(store_.FindDeployToken(kReadHash));
  EXPECT_TRUE(store_.FindDeployToken(kWriteHash));
  EXPECT_TRUE(store_.FindUserByApiToken(kUserHash));
  EXPECT_EQ(store_.ListApiTokens(std::nullopt).size(), 2u);
}

TEST_F(StoreTokensTest, RemovingAUserLeavesTheDeployTokensOfTheirApps) {
  store_.CreateApiToken("alice", "", kUserHash);
  store_.CreateDeployToken("web", "read", "", kReadHash);
  store_.RemoveUser("alice");
  EXPECT_FALSE(store_.FindUserByApiToken(kUserHash));
  EXPECT_EQ(store_.FindDeployToken(kReadHash)->app, "web");
}

TEST_F(StoreTokensTest, BadAccessAppNameOrHashIsRefusedAndAddsNothing) {
  const auto message = [&](const std::string& app, const std::string& access,
                           const std::string& name, const std::string& hash) {
    try {
      store_.CreateDeployToken(app, access, name, hash);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("web", "admin", "", kReadHash),
            "invalid access 'admin' (expected read or write)");
  EXPECT_EQ(message("web", "", "", kReadHash), "invalid access '' (expected read or write)");
  EXPECT_EQ(message("nope", "read", "", kReadHash), "no app 'nope'");
  EXPECT_EQ(message("web", "read", std::string(65, 'x'), kReadHash),
            "token name '" + std::string(65, 'x') + "' is longer than 64 characters");
  EXPECT_EQ(message("web", "read", "new\nline", kReadHash),
            "token name must not contain control characters");
  EXPECT_TRUE(store_.ListApiTokens(std::nullopt).empty());
  store_.CreateDeployToken("web", "read", "", kReadHash);
  EXPECT_EQ(message("api", "write", "", kReadHash), "this token is already recorded");
  EXPECT_EQ(store_.ListApiTokens(std::nullopt).size(), 1u);
}

// The table itself refuses a row that is both kinds, neither, or a deploy
// token without a valid access, whatever code writes it.
TEST_F(StoreTokensTest, TheSchemaAllowsOneKindPerRow) {
  SQLite::Database db((dir_.path() / "hephy.db").string(), SQLite::OPEN_READWRITE);
  db.exec("PRAGMA foreign_keys = ON");
  const int64_t user = db.execAndGet("SELECT id FROM users WHERE name = 'alice'").getInt64();
  const int64_t app = db.execAndGet("SELECT id FROM apps WHERE name = 'web'").getInt64();
  const auto insert = [&](const std::string& columns, const std::string& values) {
    try {
      db.exec("INSERT INTO api_tokens (" + columns + ", token_sha256) VALUES (" + values +
              ", hex(randomblob(32)))");
      return true;
    } catch (const SQLite::Exception&) {
      return false;
    }
  };
  const std::string u = std::to_string(user), a = std::to_string(app);
  EXPECT_FALSE(insert("user_id, app_id, access", u + ", " + a + ", 'read'"));
  EXPECT_FALSE(insert("name", "'nobody'"));
  EXPECT_FALSE(insert("app_id", a));
  EXPECT_FALSE(insert("app_id, access", a + ", 'admin'"));
  EXPECT_FALSE(insert("user_id, access", u + ", 'read'"));
  EXPECT_FALSE(insert("app_id, access", "999, 'read'"));
  EXPECT_TRUE(insert("user_id", u));
  EXPECT_TRUE(insert("app_id, access", a + ", 'write'"));
}

}  // namespace
}  // namespace hephy
