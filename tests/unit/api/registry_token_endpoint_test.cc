#include "api/registry_token_endpoint.h"

#include <gtest/gtest.h>

#include "api/api_request.h"
#include "api/api_tokens.h"
#include "jwt_claims.h"
#include "test_dir.h"
#include "util/base64.h"

namespace hephy {
namespace {

using nlohmann::json;

class RegistryTokenEndpointTest : public ::testing::Test {
 protected:
  RegistryTokenEndpointTest() : store_(dir_.path() / "hephy.db") {
    store_.Migrate();
    store_.AddUser("root", true);
    store_.AddUser("alice", false);
    store_.AddUser("bob", false);
    store_.AddUser("carol", false);
    store_.CreateApp("web", "alice");
    store_.CreateApp("api", "bob");
    store_.SetMember("web", "carol", "read");
    for (const char* user : {"root", "alice", "bob", "carol"}) {
      tokens_[user] = NewApiToken();
      store_.CreateApiToken(user, "registry", HashApiToken(tokens_[user]));
    }
  }

  // The access claim of the token answered to `username`:`password` for
  // `query`; an empty username sends no credentials.
  json Access(const std::string& username, const std::string& password, const std::string& query) {
    const auto answer = Ask(username, password, query);
    EXPECT_EQ(answer.response.status, 200);
    const auto body = json::parse(answer.response.body);
    EXPECT_EQ(body["token"], body["access_token"]);
    EXPECT_EQ(body["expires_in"], 300);
    EXPECT_TRUE(JwtVerifies(body["token"], authority_.signer().certificate_path()));
    return JwtClaims(body["token"])["access"];
  }
  json UserAccess(const std::string& user, const std::string& query) {
    return Access(user, tokens_[user], query);
  }

  RegistryTokenAnswer Ask(const std::string& username, const std::string& password,
                          const std::string& query) {
    HttpServerRequest request{.method = "GET", .target = "/v2/token?" + query};
    if (!username.empty()) {
      request.headers["authorization"] = "Basic " + Base64Encode(username + ":" + password);
    }
    return endpoint_.Answer(request, query, store_);
  }

  // The status and WWW-Authenticate of a refusal.
  std::pair<int, std::string> Refusal(const HttpServerRequest& request) {
    try {
      endpoint_.Answer(request, "service=hephyd-registry", store_);
    } catch (const ApiError& e) {
      for (const auto& [name, value] : e.headers()) {
        if (name == "WWW-Authenticate") return {e.status(), value};
      }
      return {e.status(), ""};
    }
    ADD_FAILURE() << "not refused";
    return {0, ""};
  }

  static json Grant(const std::string& name, std::vector<std::string> actions) {
    return {{"type", "repository"}, {"name", name}, {"actions", actions}};
  }

  TestDir dir_;
  Store store_;
  std::map<std::string, std::string> tokens_;
  Config config_;
  RegistryTokenAuthority authority_{dir_.path()};
  RegistryTokenEndpoint endpoint_{config_, authority_};
};

TEST_F(RegistryTokenEndpointTest, UsersPullTheAppsTheyMayReadAndPushNothing) {
  const std::string query =
      "service=hephyd-registry&scope=repository:web:pull,push&scope=repository:api:pull";
  EXPECT_EQ(UserAccess("alice", query), json::array({Grant("web", {"pull"})}));
  EXPECT_EQ(UserAccess("carol", query), json::array({Grant("web", {"pull"})}));
  EXPECT_EQ(UserAccess("bob", query), json::array({Grant("api", {"pull"})}));
  EXPECT_EQ(UserAccess("root", query),
            json::array({Grant("web", {"pull"}), Grant("api", {"pull"})}));
  // Deleting is never a user's either, nor an app that does not exist.
  EXPECT_EQ(UserAccess("root", "scope=repository:web:delete,*&scope=repository:nope:pull"),
            json::array());
}

TEST_F(RegistryTokenEndpointTest, ScopesMayShareAParameter) {
  EXPECT_EQ(UserAccess("root", "scope=repository:web:pull%20repository:api:pull"),
            json::array({Grant("web", {"pull"}), Grant("api", {"pull"})}));
}

TEST_F(RegistryTokenEndpointTest, AnonymousCallersGetATokenGrantingNothing) {
  const auto answer = Ask("", "", "service=hephyd-registry&scope=repository:web:pull");
  EXPECT_EQ(answer.who, "-");
  const auto token = json::parse(answer.response.body)["token"].get<std::string>();
  EXPECT_EQ(JwtClaims(token)["access"], json::array());
  EXPECT_EQ(JwtClaims(token)["sub"], "");
}

TEST_F(RegistryTokenEndpointTest, WrongCredentialsAreRefusedWithABasicChallenge) {
  const std::pair<int, std::string> refused{401, "Basic realm=\"hephyd\""};
  const auto with = [](const std::string& authorization) {
    return HttpServerRequest{.method = "GET", .headers = {{"authorization", authorization}}};
  };
  // A user with another user's token, an unknown user, a made-up token.
  EXPECT_EQ(Refusal(with("Basic " + Base64Encode("alice:" + tokens_["bob"]))), refused);
  EXPECT_EQ(Refusal(with("Basic " + Base64Encode("mallory:" + tokens_["bob"]))), refused);
  EXPECT_EQ(Refusal(with("Basic " + Base64Encode("alice:" + NewApiToken()))), refused);
  EXPECT_EQ(Refusal(with("Basic " + Base64Encode("alice:secret"))), refused);
  EXPECT_EQ(Refusal(with("Basic " + Base64Encode("@hephyd:secret"))), refused);
  EXPECT_EQ(Refusal(with("Basic not-base64")), refused);
  EXPECT_EQ(Refusal(with("Bearer " + tokens_["alice"])), refused);
}

TEST_F(RegistryTokenEndpointTest, RefusesAnotherService) {
  HttpServerRequest request{.method = "GET"};
  try {
    endpoint_.Answer(request, "service=docker.io&scope=repository:web:pull", store_);
    ADD_FAILURE() << "not refused";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("'hephyd-registry' only, not 'docker.io'"),
              std::string::npos);
  }
}

TEST_F(RegistryTokenEndpointTest, HephydItselfMayDoEverything) {
  const auto& service = authority_.service_credentials();
  EXPECT_EQ(Access(service.username, service.password,
                   "scope=repository:web:pull,push,delete&scope=registry:catalog:*"),
            json::array({Grant("web", {"pull", "push", "delete"}),
                         {{"type", "registry"}, {"name", "catalog"}, {"actions", {"*"}}}}));
}

TEST_F(RegistryTokenEndpointTest, ABuildPushesItsOwnAppAndPullsWhatItsUserMayRead) {
  const std::string query =
      "scope=repository:web:pull,push&scope=repository:api:pull,push&scope=registry:catalog:*";
  {
    const auto pass = authority_.AdmitBuild("web", "carol");
    const auto& credentials = pass.credentials();
    EXPECT_EQ(Access(credentials.username, credentials.password, query),
              json::array({Grant("web", {"pull", "push"})}));
  }
  {
    // bob's push of api pulls api; his build of web (were he a writer) too.
    const auto pass = authority_.AdmitBuild("web", "bob");
    const auto& credentials = pass.credentials();
    EXPECT_EQ(Access(credentials.username, credentials.password, query),
              json::array({Grant("web", {"pull", "push"}), Grant("api", {"pull"})}));
    EXPECT_EQ(Ask(credentials.username, credentials.password, "").who, credentials.username);
  }
  {
    // A scheduled rebuild reads nothing but its own app.
    const auto pass = authority_.AdmitBuild("api", std::nullopt);
    const auto& credentials = pass.credentials();
    EXPECT_EQ(Access(credentials.username, credentials.password, query),
              json::array({Grant("api", {"pull", "push"})}));
  }
}

TEST_F(RegistryTokenEndpointTest, AnAppsLayerCacheIsItsOwnBuildsAlone) {
  const std::string query = "scope=repository:web/cache:pull,push&scope=repository:api/cache:pull";
  const auto pass = authority_.AdmitBuild("web", "bob");
  // bob may read api, but not through its cache: a cache is a build's.
  EXPECT_EQ(Access(pass.credentials().username, pass.credentials().password, query),
            json::array({Grant("web/cache", {"pull", "push"})}));
  EXPECT_EQ(UserAccess("carol", query), json::array());
  EXPECT_EQ(UserAccess("bob", query), json::array());
}

TEST_F(RegistryTokenEndpointTest, TheCatalogIsForAdmins) {
  EXPECT_EQ(UserAccess("root", "scope=registry:catalog:*"),
            json::array({{{"type", "registry"}, {"name", "catalog"}, {"actions", {"*"}}}}));
  EXPECT_EQ(UserAccess("alice", "scope=registry:catalog:*"), json::array());
}

TEST_F(RegistryTokenEndpointTest, ASharedRepositoryIsReadByAdminsOnly) {
  config_.registry.repository = "tools";
  EXPECT_EQ(UserAccess("alice", "scope=repository:tools:pull"), json::array());
  EXPECT_EQ(UserAccess("root", "scope=repository:tools:pull,push"),
            json::array({Grant("tools", {"pull"})}));
  const auto pass = authority_.AdmitBuild("web", "alice");
  EXPECT_EQ(Access(pass.credentials().username, pass.credentials().password,
                   "scope=repository:tools:pull,push"),
            json::array({Grant("tools", {"pull", "push"})}));
}

TEST_F(RegistryTokenEndpointTest, RepositoriesFollowTheConfiguredPattern) {
  config_.registry.repository = "apps/{app}";
  EXPECT_EQ(UserAccess("carol", "scope=repository:apps/web:pull&scope=repository:web:pull"),
            json::array({Grant("apps/web", {"pull"})}));
}

TEST_F(RegistryTokenEndpointTest, AMalformedScopeIsNamed) {
  try {
    UserAccess("alice", "scope=repository-web");
    ADD_FAILURE() << "not refused";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(std::string(e.what()),
              "malformed scope 'repository-web': expected TYPE:NAME:ACTIONS");
  }
}

}  // namespace
}  // namespace hephy
