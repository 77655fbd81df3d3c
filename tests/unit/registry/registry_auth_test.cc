#include "registry/registry_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "error_of.h"
#include "fake_http_server.h"
#include "hephy/registry_client.h"
#include "util/base64.h"

namespace hephy {
namespace {

std::string Header(const std::string& head, const std::string& name) {
  const auto at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  const auto start = at + 4 + name.size();
  return head.substr(start, head.find("\r\n", start) - start);
}

const std::string kTags = R"({"name":"web","tags":["v1"]})";

TEST(AuthChallenges, ParsesABearerChallengeWithQuotedParameters) {
  const auto challenges = ParseAuthChallenges(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",)"
      R"(scope="repository:team/web:pull,push")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].params.at("realm"), "https://auth.example.com/token");
  EXPECT_EQ(challenges[0].params.at("service"), "registry.example.com");
  EXPECT_EQ(challenges[0].params.at("scope"), "repository:team/web:pull,push");
}

TEST(AuthChallenges, SeparatesSeveralChallengesAndUnescapes) {
  const auto challenges =
      ParseAuthChallenges(R"(Basic realm="a \"quoted\" realm", BEARER realm=plain, error=x)");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "basic");
  EXPECT_EQ(challenges[0].params.at("realm"), "a \"quoted\" realm");
  EXPECT_EQ(challenges[1].scheme, "bearer");
  EXPECT_EQ(challenges[1].params.at("realm"), "plain");
  EXPECT_EQ(challenges[1].params.at("error"), "x");
}

TEST(AuthChallenges, EmptyAndGarbageGiveNothingUsable) {
  EXPECT_TRUE(ParseAuthChallenges("").empty());
  for (const auto& challenge : ParseAuthChallenges("=,,\"")) {
    EXPECT_TRUE(challenge.params.empty());
  }
}

TEST(AuthChallenges, UnterminatedQuotedValueIsSkipped) {
  // www_authenticate_fuzzer's input: the header ends inside a quoted value.
  const auto challenges = ParseAuthChallenges(
      std::string("Bearer realm=\"https://auth.\0\0ample/tokenBearer \",service=\"registryr", 67));
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].params.at("realm"),
            std::string("https://auth.\0\0ample/tokenBearer ", 33));
  EXPECT_EQ(challenges[0].params.count("service"), 0u);
  EXPECT_EQ(ParseAuthChallenges(R"(Basic realm="r\)").at(0).params.count("realm"), 0u);
}

TEST(RegistryAuth, BasicChallengeIsAnsweredWithTheCredentials) {
  const std::string expected = "Basic " + Base64Encode("alice:s3cret");
  FakeServer registry(FakeServer::kHeads, [&](const std::string& head, const std::string&) {
    if (Header(head, "Authorization") != expected) {
      return FakeServer::Response("401 Unauthorized", "WWW-Authenticate: Basic realm=\"r\"\r\n");
    }
    return FakeServer::Response("200 OK", "Content-Type: application/json\r\n", kTags);
  });
  RegistryClient client(
      RegistryClientOptions{.url = registry.url(),
                            .insecure = true,
                            .credentials = RegistryCredentials{"alice", "s3cret"}});
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{"v1"});
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{"v1"});
  // One challenge; the second request carries the credentials at once.
  const auto heads = registry.heads();
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_EQ(Header(heads[0], "Authorization"), "");
  EXPECT_EQ(Header(heads[1], "Authorization"), expected);
  EXPECT_EQ(Header(heads[2], "Authorization"), expected);
}

TEST(RegistryAuth, WrongBasicCredentialsFailNamingWhereTheyCameFrom) {
  FakeServer registry([&](const std::string&, const std::string&) {
    return FakeServer::Response("401 Unauthorized", "WWW-Authenticate: Basic realm=\"r\"\r\n");
  });
  RegistryClient client(RegistryClientOptions{.url = registry.url(),
                                              .insecure = true,
                                              .credentials = RegistryCredentials{"alice", "wrong"},
                                              .credentials_source = "docker config /c.json"});
  const std::string message = ErrorOf([&] { client.ListTags("web"); });
  EXPECT_NE(message.find("GET /v2/web/tags/list: 401 Unauthorized (the credentials for " +
                         registry.url() + " from docker config /c.json were not accepted)"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("wrong"), std::string::npos) << message;
  EXPECT_EQ(registry.requests().size(), 2u);  // asked, answered once, refused: no loop
}

// A registry that wants bearer tokens from `issuer`, and accepts `token`.
class BearerRegistry {
 public:
  BearerRegistry(const std::string& issuer, std::string token)
      : server_(FakeServer::kHeads, [issuer, token = std::move(token)](const std::string& head,
                                                                       const std::string&) {
          if (Header(head, "Authorization") != "Bearer " + token) {
            return FakeServer::Response(
                "401 Unauthorized",
                "WWW-Authenticate: Bearer realm=\"http://" + issuer +
                    "/token\",service=\"reg\",scope=\"repository:web:pull\"\r\n");
          }
          return FakeServer::Response("200 OK", "Content-Type: application/json\r\n", kTags);
        }) {}
  FakeServer& server() { return server_; }

 private:
  FakeServer server_;
};

TEST(RegistryAuth, BearerTokenIsFetchedOnceAndCachedForItsScope) {
  FakeServer issuer(FakeServer::kHeads, [](const std::string&, const std::string&) {
    return FakeServer::Response("200 OK", "Content-Type: application/json\r\n",
                                R"({"token":"tok-1","expires_in":300})");
  });
  BearerRegistry registry(issuer.url(), "tok-1");
  RegistryClient client(RegistryClientOptions{.url = registry.server().url(),
                                              .insecure = true,
                                              .credentials = RegistryCredentials{"alice", "pw"}});
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{"v1"});
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{"v1"});

  const auto token_requests = issuer.heads();
  ASSERT_EQ(token_requests.size(), 1u);
  const std::string line = token_requests[0].substr(0, token_requests[0].find("\r\n"));
  EXPECT_TRUE(line.starts_with("GET /token?")) << line;
  EXPECT_NE(line.find("service=reg"), std::string::npos) << line;
  EXPECT_NE(line.find("scope=repository%3Aweb%3Apull"), std::string::npos) << line;
  EXPECT_EQ(Header(token_requests[0], "Authorization"), "Basic " + Base64Encode("alice:pw"));
  // Challenged once; then the cached token goes with every request.
  EXPECT_EQ(registry.server().requests().size(), 3u);
}

TEST(RegistryAuth, TokenIsFetchedAgainOnceItsLifeIsOver) {
  FakeServer issuer([](const std::string&, const std::string&) {
    return FakeServer::Response("200 OK", "", R"({"token":"short","expires_in":1})");
  });
  BearerRegistry registry(issuer.url(), "short");
  RegistryClient client(RegistryClientOptions{.url = registry.server().url(), .insecure = true});
  client.ListTags("web");
  client.ListTags("web");
  EXPECT_EQ(issuer.requests().size(), 1u);
  // Kept for nine tenths of its life: gone after a second.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  client.ListTags("web");
  EXPECT_EQ(issuer.requests().size(), 2u);
}

TEST(RegistryAuth, AnonymousTokenIsFetchedWithoutCredentials) {
  FakeServer issuer(FakeServer::kHeads, [](const std::string&, const std::string&) {
    return FakeServer::Response("200 OK", "", R"({"access_token":"anon"})");
  });
  BearerRegistry registry(issuer.url(), "anon");
  RegistryClient client(RegistryClientOptions{.url = registry.server().url(), .insecure = true});
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{"v1"});
  ASSERT_EQ(issuer.heads().size(), 1u);
  EXPECT_EQ(Header(issuer.heads()[0], "Authorization"), "");
}

TEST(RegistryAuth, ChallengeScopeInAnotherOrderAsksForNothingMore) {
  std::vector<std::string> lines;
  FakeServer issuer([&](const std::string& line, const std::string&) {
    lines.push_back(line);
    return FakeServer::Response("200 OK", "", R"({"token":"t"})");
  });
  FakeServer registry(FakeServer::kHeads, [&](const std::string& head, const std::string&) {
    if (Header(head, "Authorization") != "Bearer t") {
      return FakeServer::Response("401 Unauthorized",
                                  "WWW-Authenticate: Bearer realm=\"http://" + issuer.url() +
                                      "/token\",scope=\"repository:web:push,pull\"\r\n");
    }
    return FakeServer::Response("201 Created");
  });
  RegistryClient client(RegistryClientOptions{.url = registry.url(), .insecure = true});
  client.PutManifest("web", "v1", kOciIndex, "{}");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("&scope=repository%3Aweb%3Apull%2Cpush HTTP"), std::string::npos)
      << lines[0];
}

TEST(RegistryAuth, IdentityTokenIsExchangedByPost) {
  std::string form;
  FakeServer issuer(FakeServer::kHeads, [&](const std::string&, const std::string& body) {
    form = body;
    return FakeServer::Response("200 OK", "", R"({"access_token":"from-refresh"})");
  });
  BearerRegistry registry(issuer.url(), "from-refresh");
  RegistryClient client(RegistryClientOptions{
      .url = registry.server().url(),
      .insecure = true,
      .credentials = RegistryCredentials{.username = "<token>", .identity_token = "refresh-me"}});
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{"v1"});
  const auto heads = issuer.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_TRUE(heads[0].starts_with("POST /token ")) << heads[0];
  EXPECT_EQ(Header(heads[0], "Authorization"), "");
  EXPECT_EQ(Header(heads[0], "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_NE(form.find("grant_type=refresh_token"), std::string::npos) << form;
  EXPECT_NE(form.find("refresh_token=refresh-me"), std::string::npos) << form;
  EXPECT_NE(form.find("service=reg"), std::string::npos) << form;
  EXPECT_NE(form.find("scope=repository%3Aweb%3Apull"), std::string::npos) << form;
}

TEST(RegistryAuth, TokenServiceRefusalNamesItAndNeverThePassword) {
  FakeServer issuer([](const std::string&, const std::string&) {
    return FakeServer::Response("401 Unauthorized", "", R"({"details":"bad credentials"})");
  });
  BearerRegistry registry(issuer.url(), "never");
  RegistryClient client(
      RegistryClientOptions{.url = registry.server().url(),
                            .insecure = true,
                            .credentials = RegistryCredentials{"alice", "hunter2-secret"},
                            .credentials_source = "docker config /c.json"});
  const std::string message = ErrorOf([&] { client.ListTags("web"); });
  EXPECT_NE(message.find("token service http://" + issuer.url() + "/token: 401 Unauthorized"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("from docker config /c.json were not accepted"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST(RegistryAuth, CredentialsAreNotSentToAHostTheRegistryRedirectsTo) {
  const std::string blob = "config bytes";
  const std::string digest = Sha256Digest(blob);
  FakeServer storage(FakeServer::kHeads, [&](const std::string&, const std::string&) {
    return FakeServer::Response("200 OK", "", blob);
  });
  FakeServer registry(FakeServer::kHeads, [&](const std::string& head, const std::string&) {
    if (Header(head, "Authorization").empty()) {
      return FakeServer::Response("401 Unauthorized", "WWW-Authenticate: Basic realm=\"r\"\r\n");
    }
    return FakeServer::Response("307 Temporary Redirect",
                                "Location: http://" + storage.url() + "/blob?sig=x\r\n");
  });
  RegistryClient client(RegistryClientOptions{
      .url = registry.url(), .insecure = true, .credentials = RegistryCredentials{"alice", "pw"}});
  EXPECT_EQ(client.GetBlob("web", digest), blob);
  ASSERT_EQ(storage.heads().size(), 1u);
  EXPECT_EQ(Header(storage.heads()[0], "Authorization"), "");
}

}  // namespace
}  // namespace hephy
