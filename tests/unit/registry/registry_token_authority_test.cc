#include "registry/registry_token_authority.h"

#include <gtest/gtest.h>

#include "jwt_claims.h"
#include "test_dir.h"

namespace hephy {
namespace {

class RegistryTokenAuthorityTest : public ::testing::Test {
 protected:
  TestDir dir_;
  RegistryTokenAuthority authority_{dir_.path()};
};

TEST_F(RegistryTokenAuthorityTest, KnowsItsServiceCredentials) {
  const RegistryCredentials& service = authority_.service_credentials();
  EXPECT_TRUE(service.username.starts_with('@'));  // no user's name can be it
  EXPECT_EQ(service.password.size(), 64u);
  const auto principal = authority_.Authenticate(service.username, service.password);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->kind, RegistryPrincipal::Kind::kService);
  EXPECT_FALSE(authority_.Authenticate(service.username, service.password + "x"));
  EXPECT_FALSE(authority_.Authenticate(service.username, ""));

  // Each hephyd makes its own.
  TestDir other_dir;
  const RegistryTokenAuthority other(other_dir.path());
  EXPECT_NE(other.service_credentials().password, service.password);
}

TEST_F(RegistryTokenAuthorityTest, ABuildsCredentialsWorkWhileItRuns) {
  RegistryCredentials credentials;
  {
    const auto pass = authority_.AdmitBuild("web", "alice");
    credentials = pass.credentials();
    const auto principal = authority_.Authenticate(credentials.username, credentials.password);
    ASSERT_TRUE(principal);
    EXPECT_EQ(principal->kind, RegistryPrincipal::Kind::kBuild);
    EXPECT_EQ(principal->app, "web");
    EXPECT_EQ(principal->user, "alice");

    const auto scheduled = authority_.AdmitBuild("api", std::nullopt);
    EXPECT_NE(scheduled.credentials().username, credentials.username);
    EXPECT_EQ(
        authority_.Authenticate(scheduled.credentials().username, scheduled.credentials().password)
            ->user,
        std::nullopt);
    // One build's password is not another's.
    EXPECT_FALSE(authority_.Authenticate(credentials.username, scheduled.credentials().password));
  }
  EXPECT_FALSE(authority_.Authenticate(credentials.username, credentials.password));
}

TEST_F(RegistryTokenAuthorityTest, IssuesTokensTheRegistryChecks) {
  const auto token = authority_.Issue("alice", {{"repository", "web", {"pull"}}});
  EXPECT_EQ(token.expires_in, 300);
  EXPECT_TRUE(JwtVerifies(token.jwt, authority_.signer().certificate_path()));
  const auto claims = JwtClaims(token.jwt);
  EXPECT_EQ(claims["iss"], RegistryTokenAuthority::kIssuer);
  EXPECT_EQ(claims["aud"], RegistryTokenAuthority::kService);
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 300);
  EXPECT_EQ(claims["access"],
            nlohmann::json::parse(R"([{"type":"repository","name":"web","actions":["pull"]}])"));
  EXPECT_NE(claims["jti"], JwtClaims(authority_.Issue("alice", {}).jwt)["jti"]);
  EXPECT_EQ(JwtClaims(authority_.Issue("", {}).jwt)["access"], nlohmann::json::array());
}

}  // namespace
}  // namespace hephy
