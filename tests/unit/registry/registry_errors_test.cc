#include "registry/registry_errors.h"

#include <gtest/gtest.h>

#include "registry/registry_auth.h"

namespace hephy {
namespace {

TEST(RegistryErrors, ReadsTheOciErrorBody) {
  EXPECT_EQ(RegistryErrors(R"({"errors":[{"code":"DENIED","message":"requested access to the )"
                           R"(resource is denied","detail":"web"},{"code":"UNAUTHORIZED"}]})"),
            "DENIED: requested access to the resource is denied: web; UNAUTHORIZED");
  EXPECT_EQ(RegistryErrors("<html>502 Bad Gateway</html>"), "");
  EXPECT_EQ(RegistryErrors(R"({"errors": "none"})"), "");
}

// A hostile registry's body: fields of the wrong type are left out, where
// reading them once threw JSON type errors at the build.
TEST(RegistryErrors, FieldsOfAnotherTypeAreLeftOut) {
  EXPECT_EQ(RegistryErrors(R"({"errors":[{"code":5,"message":["x"],"detail":{"a":1}}]})"), "");
  EXPECT_EQ(RegistryErrors(R"({"errors":[7,{"code":"DENIED","message":null}]})"), "DENIED");
}

TEST(ParseTokenAnswer, TakesTokenOrAccessTokenAndTheirLifetime) {
  const auto answer =
      ParseTokenAnswer(R"({"access_token":"abc","expires_in":60})", std::chrono::seconds(300));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->token, "abc");
  EXPECT_EQ(answer->lifetime, std::chrono::seconds(60));
  EXPECT_EQ(
      ParseTokenAnswer(R"({"token":"t","access_token":"a"})", std::chrono::seconds(300))->lifetime,
      std::chrono::seconds(300));
  EXPECT_FALSE(ParseTokenAnswer(R"({"token":""})", std::chrono::seconds(300)));
  EXPECT_FALSE(ParseTokenAnswer(R"({"token":7})", std::chrono::seconds(300)));
  EXPECT_FALSE(ParseTokenAnswer("not json", std::chrono::seconds(300)));
}

// A lifetime that would overflow the token cache's clock arithmetic.
TEST(ParseTokenAnswer, AHugeLifetimeIsCappedAtAYear) {
  const auto answer = ParseTokenAnswer(R"({"token":"t","expires_in":9223372036854775807})",
                                       std::chrono::seconds(300));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->lifetime, std::chrono::seconds(365LL * 24 * 3600));
}

}  // namespace
}  // namespace hephy
