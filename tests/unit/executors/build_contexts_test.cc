#include "executors/build_contexts.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

using namespace std::chrono_literals;

TEST(BuildContexts, ATokenWorksOnceForItsOwnJob) {
  BuildContexts contexts;
  const std::string token = contexts.Issue("12-linux-arm64", "/ctx/arm64", 60s);
  EXPECT_EQ(token.size(), 64u);
  EXPECT_FALSE(contexts.Redeem("12-linux-amd64", token));
  EXPECT_FALSE(contexts.Redeem("12-linux-arm64", std::string(64, '0')));
  // Neither a wrong job nor a wrong token used it up.
  EXPECT_EQ(contexts.Redeem("12-linux-arm64", token), std::filesystem::path("/ctx/arm64"));
  EXPECT_FALSE(contexts.Redeem("12-linux-arm64", token));
}

TEST(BuildContexts, TokensAreUnguessableAndReplacedOnReissue) {
  BuildContexts contexts;
  const std::string first = contexts.Issue("1-linux-amd64", "/a", 60s);
  const std::string second = contexts.Issue("1-linux-amd64", "/b", 60s);
  EXPECT_NE(first, second);
  EXPECT_FALSE(contexts.Redeem("1-linux-amd64", first));
  EXPECT_EQ(contexts.Redeem("1-linux-amd64", second), std::filesystem::path("/b"));
}

TEST(BuildContexts, ExpiredOrRevokedTokensAreRefused) {
  BuildContexts contexts;
  auto now = BuildContexts::Clock::now();
  contexts.SetClockForTest([&] { return now; });
  const std::string late = contexts.Issue("2-linux-amd64", "/a", 10s);
  const std::string revoked = contexts.Issue("2-linux-arm64", "/b", 10s);
  now += 10s;
  EXPECT_FALSE(contexts.Redeem("2-linux-amd64", late));
  contexts.Revoke("2-linux-arm64");
  now -= 5s;
  EXPECT_FALSE(contexts.Redeem("2-linux-arm64", revoked));
}

}  // namespace
}  // namespace hephy
