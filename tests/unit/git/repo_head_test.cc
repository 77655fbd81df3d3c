#include "git/repo_head.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

const std::string kZero(40, '0');
const std::string kOne(40, '1');

RefUpdate Create(const std::string& ref) { return {kZero, kOne, ref}; }
RefUpdate Delete(const std::string& ref) { return {kOne, kZero, ref}; }

TEST(RepoHead, LeftAloneWhileItsBranchExists) {
  EXPECT_EQ(HeadAfterPush("refs/heads/main", {"refs/heads/main"}, {Create("refs/heads/dev")}),
            std::nullopt);
  EXPECT_EQ(
      HeadAfterPush("refs/heads/main", {}, {Create("refs/heads/dev"), Create("refs/heads/main")}),
      std::nullopt);
}

TEST(RepoHead, MovesToTheFirstBranchPushedWhenItsOwnIsMissing) {
  EXPECT_EQ(HeadAfterPush(
                "refs/heads/main", {},
                {Create("refs/tags/v1"), Create("refs/heads/feature"), Create("refs/heads/dev")}),
            "refs/heads/feature");
}

TEST(RepoHead, PrefersMainThenMaster) {
  EXPECT_EQ(HeadAfterPush("refs/heads/trunk", {"refs/heads/master"},
                          {Create("refs/heads/dev"), Create("refs/heads/main")}),
            "refs/heads/main");
  EXPECT_EQ(HeadAfterPush("refs/heads/trunk", {"refs/heads/master"}, {Create("refs/heads/dev")}),
            "refs/heads/master");
}

TEST(RepoHead, ADeletedBranchGivesWayToOneThatRemains) {
  EXPECT_EQ(HeadAfterPush("refs/heads/main", {"refs/heads/main", "refs/heads/b", "refs/heads/a"},
                          {Delete("refs/heads/main")}),
            "refs/heads/a");
  EXPECT_EQ(HeadAfterPush("refs/heads/main", {"refs/heads/main"}, {Delete("refs/heads/main")}),
            std::nullopt);
  EXPECT_EQ(HeadAfterPush("refs/heads/main", {}, {Create("refs/tags/v1")}), std::nullopt);
}

}  // namespace
}  // namespace hephy
