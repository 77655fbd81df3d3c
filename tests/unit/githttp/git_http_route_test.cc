#include "githttp/git_http_route.h"

#include <gtest/gtest.h>

#include "hephy/error.h"

namespace hephy {
namespace {

std::string Refusal(std::string_view method, std::string_view target) {
  try {
    ParseGitHttpRoute(method, target);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GitHttpRoute, ReadsTheAdvertisementAndTheExchanges) {
  auto route = ParseGitHttpRoute("GET", "/web.git/info/refs?service=git-upload-pack");
  EXPECT_EQ(route.kind, GitHttpRoute::Kind::kAdvertisement);
  EXPECT_EQ(route.service, GitService::kUploadPack);
  EXPECT_EQ(route.app, "web");
  route = ParseGitHttpRoute("GET", "/api-2/info/refs?service=git-receive-pack");
  EXPECT_EQ(route.service, GitService::kReceivePack);
  EXPECT_EQ(route.app, "api-2");
  route = ParseGitHttpRoute("POST", "/web.git/git-receive-pack");
  EXPECT_EQ(route.kind, GitHttpRoute::Kind::kExchange);
  EXPECT_EQ(route.service, GitService::kReceivePack);
  EXPECT_EQ(route.app, "web");
  route = ParseGitHttpRoute("POST", "/web/git-upload-pack");
  EXPECT_EQ(route.service, GitService::kUploadPack);
}

TEST(GitHttpRoute, KnowsGitsPathsFromTheApis) {
  EXPECT_TRUE(IsGitHttpPath("/web.git/info/refs?service=git-upload-pack"));
  EXPECT_TRUE(IsGitHttpPath("/web.git/git-receive-pack"));
  EXPECT_FALSE(IsGitHttpPath("/api/v1/builds?x=/info/refs"));
  EXPECT_FALSE(IsGitHttpPath("/healthz"));
}

int StatusOf(std::string_view method, std::string_view target) {
  try {
    ParseGitHttpRoute(method, target);
  } catch (const GitHttpRouteError& e) {
    return e.status();
  }
  return 0;
}

TEST(GitHttpRoute, EachRefusalHasItsStatus) {
  EXPECT_EQ(StatusOf("GET", "/../etc.git/info/refs?service=git-upload-pack"), 404);
  EXPECT_EQ(StatusOf("POST", "/web.git/git-nothing"), 404);
  EXPECT_EQ(StatusOf("GET", "/web.git/git-upload-pack"), 405);
  EXPECT_EQ(StatusOf("POST", "/web.git/info/refs?service=git-upload-pack"), 405);
  EXPECT_EQ(StatusOf("GET", "/web.git/info/refs"), 400);
  EXPECT_EQ(StatusOf("GET", "/web.git/info/refs?service=git-upload-archive"), 400);
}

TEST(GitHttpRoute, RefusesHostileNamesAndOtherProtocols) {
  EXPECT_NE(
      Refusal("GET", "/../etc.git/info/refs?service=git-upload-pack").find("invalid app name"),
      std::string::npos);
  EXPECT_NE(Refusal("POST", "/a/b.git/git-upload-pack").find("invalid app name"),
            std::string::npos);
  EXPECT_NE(Refusal("POST", "//git-upload-pack").find("invalid app name"), std::string::npos);
  EXPECT_NE(Refusal("GET", "/web.git/info/refs").find("smart HTTP protocol only"),
            std::string::npos);
  EXPECT_NE(Refusal("GET", "/web.git/info/refs?service=git-upload-archive")
                .find("unknown service 'git-upload-archive'"),
            std::string::npos);
  EXPECT_EQ(Refusal("GET", "/web.git/git-upload-pack"), "git-upload-pack takes POST");
  EXPECT_EQ(Refusal("POST", "/web.git/info/refs?service=git-upload-pack"), "info/refs takes GET");
}

}  // namespace
}  // namespace hephy
