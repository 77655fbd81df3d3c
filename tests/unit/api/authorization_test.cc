#include "api/authorization.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(Authorization, SchemeInAnyCaseAndTrimmedCredentials) {
  const auto bearer = ParseAuthorization("BeArEr   hephy_abc  ");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->scheme, "bearer");
  EXPECT_EQ(bearer->credentials, "hephy_abc");
  EXPECT_FALSE(ParseAuthorization("Bearer"));
  EXPECT_FALSE(ParseAuthorization(""));
}

TEST(Authorization, BasicCredentialsSplitAtTheFirstColon) {
  // "alice:pass:word"
  const auto basic = BasicCredentialsOf(*ParseAuthorization("Basic YWxpY2U6cGFzczp3b3Jk"));
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->user, "alice");
  EXPECT_EQ(basic->password, "pass:word");
  EXPECT_FALSE(BasicCredentialsOf(*ParseAuthorization("Basic bm9jb2xvbg==")));  // "nocolon"
  EXPECT_FALSE(BasicCredentialsOf(*ParseAuthorization("Basic !!!")));
  EXPECT_FALSE(BasicCredentialsOf(*ParseAuthorization("Bearer YWxpY2U6eA==")));
}

}  // namespace
}  // namespace hephy
