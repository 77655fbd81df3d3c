// API tokens: their form, what the store keeps of them, and `hephyd tokens`.
#include "api/api_tokens.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cli_fixture.h"
#include "hephy/error.h"
#include "hephy/store.h"

namespace hephy {
namespace {

TEST(ApiTokens, NewTokensArePrefixedHexAndDifferent) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string token = NewApiToken();
    EXPECT_EQ(token.size(), 6u + 64u) << token;
    EXPECT_TRUE(token.starts_with("hephy_")) << token;
    EXPECT_TRUE(LooksLikeApiToken(token)) << token;
    EXPECT_TRUE(seen.insert(token).second) << "repeated " << token;
  }
}

TEST(ApiTokens, HashIsTheHexSha256OfTheWholeToken) {
  EXPECT_EQ(HashApiToken("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string token = NewApiToken();
  EXPECT_EQ(HashApiToken(token).size(), 64u);
  EXPECT_NE(HashApiToken(token), HashApiToken(token.substr(6)));
}

TEST(ApiTokens, OnlyTheTokenFormLooksLikeOne) {
  const std::string hex(64, 'a');
  EXPECT_TRUE(LooksLikeApiToken("hephy_" + hex));
  EXPECT_FALSE(LooksLikeApiToken(hex));
  EXPECT_FALSE(LooksLikeApiToken("hephy_" + hex.substr(1)));
  EXPECT_FALSE(LooksLikeApiToken("hephy_" + hex + "a"));
  EXPECT_FALSE(LooksLikeApiToken("hephy_" + std::string(64, 'A')));
  EXPECT_FALSE(LooksLikeApiToken("HEPHY_" + hex));
  EXPECT_FALSE(LooksLikeApiToken(""));
}

class TokensTest : public CliTest {
 protected:
  TokensTest() {
    Run({"users", "add", "alice"});
    Run({"users", "add", "root", "--admin"});
  }
  Store& store() {
    if (!store_) store_ = std::make_unique<Store>(data_dir() / "hephy.db");
    return *store_;
  }
  std::unique_ptr<Store> store_;
};

TEST_F(TokensTest, StoreFindsTheUserByTheHashAndRecordsTheUse) {
  const std::string token = NewApiToken();
  const ApiToken created = store().CreateApiToken("alice", "ci", HashApiToken(token));
  EXPECT_EQ(created.user, "alice");
  EXPECT_EQ(created.name, "ci");
  EXPECT_EQ(created.last_used_at, "");

  const auto user = store().FindUserByApiToken(HashApiToken(token));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->name, "alice");
  EXPECT_FALSE(user->admin);
  EXPECT_NE(store().ListApiTokens("alice").at(0).last_used_at, "");
  EXPECT_FALSE(store().FindUserByApiToken(HashApiToken(NewApiToken())));
  // The hash is the key, not the token: a token given as its own hash is unknown.
  EXPECT_FALSE(store().FindUserByApiToken(token));

  // Nothing in the database is the token itself.
  SQLite::Database db((data_dir() / "hephy.db").string());
  SQLite::Statement rows(db, "SELECT token_sha256, name FROM api_tokens");
  while (rows.executeStep()) {
    EXPECT_EQ(rows.getColumn(0).getString(), HashApiToken(token));
  }
}

TEST_F(TokensTest, StoreRefusesUnknownUsersBadNamesAndRepeatedHashes) {
  const std::string hash = HashApiToken(NewApiToken());
  EXPECT_THROW(store().CreateApiToken("nobody", "", hash), Error);
  EXPECT_THROW(store().CreateApiToken("alice", std::string(65, 'x'), hash), Error);
  EXPECT_THROW(store().CreateApiToken("alice", "tab\there", hash), Error);
  store().CreateApiToken("alice", "", hash);
  EXPECT_THROW(store().CreateApiToken("root", "", hash), Error);
}

TEST_F(TokensTest, RemovingTheUserRemovesTheirTokens) {
  const std::string token = NewApiToken();
  store().CreateApiToken("alice", "", HashApiToken(token));
  store().RemoveUser("alice");
  EXPECT_FALSE(store().FindUserByApiToken(HashApiToken(token)));
  EXPECT_TRUE(store().ListApiTokens(std::nullopt).empty());
}

TEST_F(TokensTest, CreatePrintsTheTokenOnceAndOnlyItsHashIsKept) {
  const Outcome r = Run({"tokens", "create", "alice", "--name", "ci"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.out.size(), 6u + 64u + 1u) << r.out;
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_TRUE(LooksLikeApiToken(token));
  EXPECT_EQ(r.err,
            "created token 1 (ci) for alice; it is shown only this once: hephyd keeps only its "
            "SHA-256\n");
  EXPECT_EQ(store().FindUserByApiToken(HashApiToken(token))->name, "alice");

  const Outcome list = Run({"tokens", "list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out.find(token), std::string::npos);
  EXPECT_TRUE(list.out.starts_with("ID  USER/APP  ACCESS  NAME  CREATED")) << list.out;
  EXPECT_NE(list.out.find("1   alice     -       ci    "), std::string::npos) << list.out;

  // The audit log says who got a token, never the token.
  const auto audit = store().ListAudit();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "tokens.create");
  EXPECT_EQ(audit.back().target, "alice");
  EXPECT_EQ(audit.back().detail, "token 1 (ci)");
}

TEST_F(TokensTest, ListAsJsonOfOneUserOrAll) {
  Run({"tokens", "create", "alice"});
  Run({"tokens", "create", "root", "--name", "prometheus"});
  Run({"tokens", "create", "alice", "--name", "laptop"});
  const Outcome all = Run({"tokens", "list", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  const auto json = nlohmann::json::parse(all.out);
  ASSERT_EQ(json.size(), 3u);
  EXPECT_EQ(json[0]["id"], 1);
  EXPECT_EQ(json[0]["user"], "alice");
  EXPECT_TRUE(json[0]["name"].is_null());
  EXPECT_TRUE(json[0]["last_used_at"].is_null());
  EXPECT_EQ(json[1]["name"], "laptop");
  EXPECT_EQ(json[2]["user"], "root");
  EXPECT_EQ(json[2]["name"], "prometheus");
  for (const auto& token : json) {
    EXPECT_EQ(token.size(), 8u) << token.dump();
    EXPECT_EQ(token["kind"], "user");
    EXPECT_TRUE(token["app"].is_null());
  }
  EXPECT_EQ(nlohmann::json::parse(Run({"tokens", "list", "root", "--json"}).out).size(), 1u);
  EXPECT_EQ(Run({"tokens", "list", "nobody"}).err, "hephyd: no user 'nobody'\n");
}

TEST_F(TokensTest, RevokeDeletesTheTokenAtOnce) {
  const std::string token = Run({"tokens", "create", "alice", "--name", "ci"}).out.substr(0, 70);
  const Outcome r = Run({"tokens", "revoke", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "revoked token 1 (ci) of alice\n");
  EXPECT_FALSE(store().FindUserByApiToken(HashApiToken(token)));
  EXPECT_EQ(store().ListAudit().back().action, "tokens.revoke");

  EXPECT_EQ(Run({"tokens", "revoke", "1"}).err, "hephyd: no token 1\n");
  EXPECT_EQ(Run({"tokens", "revoke", "x"}).code, 2);
  EXPECT_EQ(Run({"tokens", "create"}).code, 2);
  EXPECT_EQ(Run({"tokens", "create", "nobody"}).err, "hephyd: no user 'nobody'\n");
  for (const auto& help : std::vector<std::vector<std::string>>{{"tokens", "--help"},
                                                                {"tokens", "create", "--help"},
                                                                {"tokens", "list", "--help"},
                                                                {"tokens", "revoke", "--help"}}) {
    EXPECT_EQ(Run(help).code, 0);
  }
}

}  // namespace
}  // namespace hephy
