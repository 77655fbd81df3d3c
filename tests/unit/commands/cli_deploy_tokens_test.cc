// hephyd tokens create --deploy, and deploy tokens in `tokens list` and
// `tokens revoke`, on the host's command line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api_tokens.h"
#include "cli_fixture.h"
#include "hephy/store.h"

namespace hephy {
namespace {

class DeployTokensCliTest : public CliTest {
 protected:
  DeployTokensCliTest() {
    Run({"users", "add", "alice"});
    Run({"apps", "create", "web", "--owner", "alice"});
  }
  Store& store() {
    if (!store_) store_ = std::make_unique<Store>(data_dir() / "hephy.db");
    return *store_;
  }
  // The token printed by a successful `tokens create`.
  std::string Created(std::vector<std::string> args) {
    args.insert(args.begin(), {"tokens", "create"});
    const Outcome r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.size(), 6u + 64u + 1u) << r.out;
    return r.out.substr(0, r.out.size() - 1);
  }
  std::unique_ptr<Store> store_;
};

TEST_F(DeployTokensCliTest, CreateIsReadOnlyUnlessWriteAndPrintsTheTokenOnce) {
  Outcome r = Run({"tokens", "create", "--deploy", "web", "--name", "gitlab"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_TRUE(LooksLikeApiToken(token)) << r.out;
  EXPECT_EQ(r.err,
            "created deploy token 1 (gitlab) for app web with read access; it is shown only this "
            "once: hephyd keeps only its SHA-256\n"
            "git over HTTP(S) takes it as the password, with any user name: git clone "
            "https://deploy:TOKEN@HOST/web.git\n");
  const auto found = store().FindDeployToken(HashApiToken(token));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->app, "web");
  EXPECT_EQ(found->access, "read");
  EXPECT_FALSE(store().FindUserByApiToken(HashApiToken(token)));

  const std::string writer = Created({"--deploy", "web", "--write"});
  EXPECT_EQ(store().FindDeployToken(HashApiToken(writer))->access, "write");
  EXPECT_EQ(store().FindDeployToken(HashApiToken(writer))->name, "");

  // The audit log names the app and the access, never the token.
  const auto audit = store().ListAudit();
  ASSERT_GE(audit.size(), 2u);
  const AuditEntry& first = audit[audit.size() - 2];
  EXPECT_EQ(first.actor, "cli");
  EXPECT_EQ(first.action, "tokens.create");
  EXPECT_EQ(first.target, "web");
  EXPECT_EQ(first.detail, "deploy read token 1 (gitlab)");
  EXPECT_EQ(audit.back().detail, "deploy write token 2");
  for (const auto& entry : audit) {
    EXPECT_EQ(entry.detail.find(token.substr(6)), std::string::npos) << entry.detail;
    EXPECT_EQ(entry.detail.find(writer.substr(6)), std::string::npos) << entry.detail;
  }
}

TEST_F(DeployTokensCliTest, CreateRefusesUnknownAppsAndBadArguments) {
  Outcome r = Run({"tokens", "create", "--deploy", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hephyd: no app 'nope'\n");
  EXPECT_EQ(r.out, "");
  r = Run({"tokens", "create", "--deploy", "web", "--read", "--write"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--read and --write exclude each other"), std::string::npos) << r.err;
  EXPECT_EQ(Run({"tokens", "create", "--deploy"}).code, 2);
  EXPECT_EQ(Run({"tokens", "create", "--deploy", "web", "alice"}).code, 2);
  EXPECT_EQ(Run({"tokens", "create", "alice", "--write"}).code, 2);
  r = Run({"tokens", "create", "--deploy", "web", "--name", std::string(65, 'x')});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is longer than 64 characters"), std::string::npos) << r.err;
  EXPECT_TRUE(store().ListApiTokens(std::nullopt).empty());
}

TEST_F(DeployTokensCliTest, ListShowsBothKindsAsTableAndJson) {
  Created({"alice", "--name", "laptop"});
  Created({"--deploy", "web", "--write", "--name", "ci"});
  Outcome r = Run({"tokens", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("ID  USER/APP  ACCESS  NAME    CREATED")) << r.out;
  EXPECT_NE(r.out.find("\n1   alice     -       laptop  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n2   app web   write   ci      "), std::string::npos) << r.out;

  r = Run({"tokens", "list", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["kind"], "user");
  EXPECT_EQ(json[0]["user"], "alice");
  EXPECT_TRUE(json[0]["app"].is_null());
  EXPECT_TRUE(json[0]["access"].is_null());
  EXPECT_EQ(json[1]["id"], 2);
  EXPECT_EQ(json[1]["kind"], "deploy");
  EXPECT_TRUE(json[1]["user"].is_null());
  EXPECT_EQ(json[1]["app"], "web");
  EXPECT_EQ(json[1]["access"], "write");
  EXPECT_EQ(json[1]["name"], "ci");
  EXPECT_TRUE(json[1]["last_used_at"].is_null());

  // A user's own, or an app's deploy tokens.
  const auto alices = nlohmann::json::parse(Run({"tokens", "list", "alice", "--json"}).out);
  ASSERT_EQ(alices.size(), 1u);
  EXPECT_EQ(alices[0]["kind"], "user");
  const auto webs = nlohmann::json::parse(Run({"tokens", "list", "--app", "web", "--json"}).out);
  ASSERT_EQ(webs.size(), 1u);
  EXPECT_EQ(webs[0]["app"], "web");
  EXPECT_EQ(Run({"tokens", "list", "--app", "nope"}).err, "hephyd: no app 'nope'\n");
  EXPECT_EQ(Run({"tokens", "list", "alice", "--app", "web"}).code, 2);
}

TEST_F(DeployTokensCliTest, RevokeTakesADeployTokenByIdAndDeletingTheAppTakesTheRest) {
  const std::string user_token = Created({"alice"});
  const std::string first = Created({"--deploy", "web", "--name", "ci"});
  const std::string second = Created({"--deploy", "web", "--write"});
  Outcome r = Run({"tokens", "revoke", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "revoked deploy token 2 (ci) of app web\n");
  EXPECT_FALSE(store().FindDeployToken(HashApiToken(first)));
  const AuditEntry revoked = store().ListAudit().back();
  EXPECT_EQ(revoked.action, "tokens.revoke");
  EXPECT_EQ(revoked.target, "web");
  EXPECT_EQ(revoked.detail, "deploy read token 2 (ci)");
  EXPECT_EQ(Run({"tokens", "revoke", "2"}).err, "hephyd: no token 2\n");

  ASSERT_EQ(Run({"apps", "delete", "web", "--confirm", "web"}).code, 0);
  EXPECT_FALSE(store().FindDeployToken(HashApiToken(second)));
  EXPECT_TRUE(store().FindUserByApiToken(HashApiToken(user_token)));
  EXPECT_EQ(Run({"tokens", "revoke", "3"}).err, "hephyd: no token 3\n");
}

TEST_F(DeployTokensCliTest, HelpTellsOfDeployTokens) {
  Outcome r = Run({"tokens", "create", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("tokens create --deploy APP [--write] [--name NAME]"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("git clone https://deploy:TOKEN@HOST/APP.git"), std::string::npos);
  r = Run({"tokens", "list", "--help"});
  EXPECT_NE(r.out.find("tokens list --app APP [--json]"), std::string::npos) << r.out;
  r = Run({"--help"});
  EXPECT_NE(r.out.find("tokens create --deploy APP [--write]"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace hephy
