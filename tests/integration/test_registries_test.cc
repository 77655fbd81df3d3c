// The tests' own stand-ins for registries that authenticate, checked
// against real clients: docker-registry itself, skopeo, and hephyd's
// HttpConnection. Tests of hephyd's registry credentials rely on them
// behaving as real registries and token services do.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "auth_registries.h"
#include "hephy/registry_client.h"
#include "net/http_connection.h"
#include "skopeo_copy.h"
#include "test_dir.h"
#include "util/base64.h"

namespace hephy {
namespace {

using nlohmann::json;

constexpr char kUser[] = "alice";
constexpr char kPassword[] = "correct horse";
constexpr char kPushWeb[] = "repository:web:pull,push";

constexpr auto kTimeout = std::chrono::seconds(30);
constexpr size_t kMaxBody = 1 << 20;

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + Base64Encode(user + ":" + password);
}

// "127.0.0.1:PORT" of a realm "http://127.0.0.1:PORT/token".
HostPort RealmServer(const std::string& realm) {
  const std::string rest = realm.substr(std::string("http://").size());
  return ParseHostPort(rest.substr(0, rest.find('/')), 80);
}

// GET /token for `scope`, with `authorization` unless empty.
HttpResponse AskForToken(TokenIssuer& issuer, const std::string& scope,
                         const std::string& authorization) {
  HttpConnection connection(RealmServer(issuer.realm()), kTimeout, kMaxBody);
  HttpRequest request{"GET", "/token?service=" + issuer.service() + "&scope=" + scope, {}, ""};
  if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
  return connection.Send(request);
}

// POST /token with a form body.
HttpResponse PostForToken(TokenIssuer& issuer, const std::string& form) {
  HttpConnection connection(RealmServer(issuer.realm()), kTimeout, kMaxBody);
  return connection.Send({"POST",
                          "/token",
                          {{"Content-Type", "application/x-www-form-urlencoded"}},
                          form + "&service=" + issuer.service() + "&client_id=hephy-tests"});
}

std::string TokenFor(TokenIssuer& issuer, const std::string& scope) {
  const HttpResponse r = AskForToken(issuer, scope, Basic(kUser, kPassword));
  if (r.status != 200) throw std::runtime_error("token issuer said " + std::to_string(r.status));
  return json::parse(r.body)["token"];
}

// A monolithic blob upload, as a client with `bearer` does it: the status of
// the final PUT.
int PushBlob(HttpConnection& registry, const std::string& bearer, const std::string& bytes) {
  const std::pair<std::string, std::string> authorization{"Authorization", "Bearer " + bearer};
  const HttpResponse started =
      registry.Send({"POST", "/v2/web/blobs/uploads/", {authorization}, ""});
  if (started.status != 202) return started.status;
  const HttpLocation location = ResolveLocation(registry.server(), false, "/v2/web/blobs/uploads/",
                                                started.Header("location"));
  const std::string digest = Sha256Digest(bytes);
  const std::string target = location.target +
                             (location.target.find('?') == std::string::npos ? "?" : "&") +
                             "digest=" + digest;
  return registry
      .Send({"PUT", target, {authorization, {"Content-Type", "application/octet-stream"}}, bytes})
      .status;
}

TEST(TokenAuthTestRegistry, ChallengesWithTheIssuersRealmServiceAndScope) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TokenIssuer& issuer = registry.issuer();
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);

  const HttpResponse base = connection.Send({"GET", "/v2/", {}, ""});
  EXPECT_EQ(base.status, 401);
  EXPECT_EQ(base.Header("www-authenticate"),
            "Bearer realm=\"" + issuer.realm() + "\",service=\"" + issuer.service() + "\"");

  const HttpResponse upload = connection.Send({"POST", "/v2/web/blobs/uploads/", {}, ""});
  EXPECT_EQ(upload.status, 401);
  // docker-registry lists the actions in an order of its own, not always the same.
  const std::string challenge = upload.Header("www-authenticate");
  EXPECT_TRUE(challenge == "Bearer realm=\"" + issuer.realm() + "\",service=\"" + issuer.service() +
                               "\",scope=\"repository:web:pull,push\"" ||
              challenge == "Bearer realm=\"" + issuer.realm() + "\",service=\"" + issuer.service() +
                               "\",scope=\"repository:web:push,pull\"")
      << challenge;
  EXPECT_EQ(issuer.get_requests() + issuer.post_requests(), 0);
}

TEST(TokenAuthTestRegistry, ATokenOfTheIssuerLetsAClientPushABlob) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TokenIssuer& issuer = registry.issuer();

  const HttpResponse answer = AskForToken(issuer, kPushWeb, Basic(kUser, kPassword));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json body = json::parse(answer.body);
  EXPECT_EQ(body["access_token"], body["token"]);
  EXPECT_EQ(body["expires_in"], 300);
  EXPECT_TRUE(std::regex_match(body["issued_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << body["issued_at"];
  EXPECT_EQ(issuer.get_requests(), 1);
  EXPECT_EQ(issuer.requests_for(kPushWeb), 1);
  EXPECT_TRUE(issuer.last_had_authorization());

  const std::string token = body["token"];
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);
  EXPECT_EQ(connection.Send({"GET", "/v2/", {{"Authorization", "Bearer " + token}}, ""}).status,
            200);
  EXPECT_EQ(PushBlob(connection, token, "pushed with a token"), 201);
  const HttpResponse head = connection.Send({"HEAD",
                                             "/v2/web/blobs/" + Sha256Digest("pushed with a token"),
                                             {{"Authorization", "Bearer " + token}},
                                             ""});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), "19");
}

TEST(TokenAuthTestRegistry, OneTokenGrantsEveryScopeAskedFor) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TokenIssuer& issuer = registry.issuer();
  const HttpResponse answer = AskForToken(
      issuer, std::string(kPushWeb) + "&scope=repository:base:pull", Basic(kUser, kPassword));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(issuer.requests_for(kPushWeb), 1);
  EXPECT_EQ(issuer.requests_for("repository:base:pull"), 1);

  const std::string token = json::parse(answer.body)["token"];
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);
  EXPECT_EQ(PushBlob(connection, token, "one of two"), 201);
  // Allowed to look: the repository is simply not there.
  EXPECT_EQ(
      connection.Send({"GET", "/v2/base/tags/list", {{"Authorization", "Bearer " + token}}, ""})
          .status,
      404);
  EXPECT_EQ(
      connection.Send({"GET", "/v2/other/tags/list", {{"Authorization", "Bearer " + token}}, ""})
          .status,
      401);
}

TEST(TokenAuthTestRegistry, TheRegistryRefusesATokenIssuedExpired) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TokenIssuer& issuer = registry.issuer();
  issuer.set_issue_expired(true);
  const HttpResponse answer = AskForToken(issuer, kPushWeb, Basic(kUser, kPassword));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(json::parse(answer.body)["expires_in"], 300);
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);
  const std::string expired = json::parse(answer.body)["token"];
  const HttpResponse refused =
      connection.Send({"GET", "/v2/", {{"Authorization", "Bearer " + expired}}, ""});
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.Header("www-authenticate").find("error=\"invalid_token\""), std::string::npos)
      << refused.Header("www-authenticate");

  issuer.set_issue_expired(false);
  const std::string fresh = TokenFor(issuer, kPushWeb);
  EXPECT_EQ(connection.Send({"GET", "/v2/", {{"Authorization", "Bearer " + fresh}}, ""}).status,
            200);
}

TEST(TokenAuthTestRegistry, TheIssuerRefusesAWrongPassword) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TokenIssuer& issuer = registry.issuer();
  const HttpResponse answer = AskForToken(issuer, kPushWeb, Basic(kUser, "wrong"));
  EXPECT_EQ(answer.status, 401);
  EXPECT_EQ(answer.body.find("token\""), std::string::npos) << answer.body;
  ASSERT_EQ(issuer.requests().size(), 1u);
  EXPECT_EQ(issuer.requests()[0].status, 401);
  EXPECT_TRUE(issuer.last_had_authorization());
}

TEST(TokenAuthTestRegistry, AnAnonymousTokenOpensTheBaseRouteOnly) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TokenIssuer& issuer = registry.issuer();
  const HttpResponse answer = AskForToken(issuer, kPushWeb, "");
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_FALSE(issuer.last_had_authorization());

  const std::string token = json::parse(answer.body)["token"];
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);
  EXPECT_EQ(connection.Send({"GET", "/v2/", {{"Authorization", "Bearer " + token}}, ""}).status,
            200);
  const HttpResponse upload = connection.Send(
      {"POST", "/v2/web/blobs/uploads/", {{"Authorization", "Bearer " + token}}, ""});
  EXPECT_EQ(upload.status, 401);
  EXPECT_NE(upload.Header("www-authenticate").find("error=\"insufficient_scope\""),
            std::string::npos)
      << upload.Header("www-authenticate");
}

TEST(TokenAuthTestRegistry, AnIssuerGrantingPullOnlyLetsNoPushThrough) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  registry.issuer().set_granted_actions({"pull"});
  const std::string token = TokenFor(registry.issuer(), kPushWeb);
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);
  // Allowed to look: the manifest is simply not there.
  EXPECT_EQ(
      connection
          .Send({"GET", "/v2/web/manifests/latest", {{"Authorization", "Bearer " + token}}, ""})
          .status,
      404);
  EXPECT_EQ(PushBlob(connection, token, "refused"), 401);
}

TEST(TokenAuthTestRegistry, PostGrantsTokensForARefreshTokenOrAPassword) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TokenIssuer& issuer = registry.issuer();
  issuer.set_refresh_token("refresh-1");
  issuer.set_expires_in(120);

  const HttpResponse refreshed = PostForToken(
      issuer, "grant_type=refresh_token&refresh_token=refresh-1&scope=" + std::string(kPushWeb));
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(json::parse(refreshed.body)["expires_in"], 120);
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);
  EXPECT_EQ(PushBlob(connection, json::parse(refreshed.body)["access_token"], "refreshed"), 201);

  const HttpResponse stale = PostForToken(
      issuer, "grant_type=refresh_token&refresh_token=refresh-0&scope=" + std::string(kPushWeb));
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(json::parse(stale.body)["error"], "invalid_grant");

  // Form encoding: the space of the password, the colons and comma of the scope.
  const HttpResponse login = PostForToken(
      issuer,
      "grant_type=password&username=alice&password=correct+horse&access_type=offline&scope="
      "repository%3Aweb%3Apull%2Cpush");
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(json::parse(login.body)["refresh_token"], "refresh-1");
  EXPECT_EQ(PushBlob(connection, json::parse(login.body)["access_token"], "logged in"), 201);

  EXPECT_EQ(PostForToken(issuer, "grant_type=password&username=alice&password=wrong").status, 401);
  EXPECT_EQ(issuer.post_requests(), 4);
  EXPECT_EQ(issuer.get_requests(), 0);
  EXPECT_EQ(issuer.requests_for(kPushWeb), 3);
  EXPECT_EQ(issuer.requests()[0].grant_type, "refresh_token");
}

TEST(TokenAuthTestRegistry, SkopeoCopiesAnImageWithTheUsersPassword) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TestDir dir;
  const RunResult r =
      SkopeoCopy(dir.path(), WriteOciLayout(dir.path()), registry.url() + "/web:latest",
                 {"--dest-tls-verify=false", "--dest-creds", std::string(kUser) + ":" + kPassword});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(registry.issuer().requests_for(kPushWeb), 1);
  EXPECT_TRUE(registry.issuer().last_had_authorization());

  const std::string token = TokenFor(registry.issuer(), kPushWeb);
  HttpConnection connection(ParseHostPort(registry.url(), 80), kTimeout, kMaxBody);
  EXPECT_EQ(connection
                .Send({"GET",
                       "/v2/web/manifests/latest",
                       {{"Authorization", "Bearer " + token}, {"Accept", kOciManifest}},
                       ""})
                .status,
            200);
}

TEST(BasicAuthTestRegistry, AnswersOnlyTheUsersPassword) {
  BasicAuthTestRegistry registry(kUser, kPassword);
  TlsContext tls(registry.ca_file());
  HttpConnection connection(ParseHostPort(registry.url(), 443), kTimeout, kMaxBody, &tls);

  const HttpResponse anonymous = connection.Send({"GET", "/v2/", {}, ""});
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.Header("www-authenticate"), "Basic realm=\"hephy test registry\"");
  EXPECT_EQ(connection.Send({"GET", "/v2/", {{"Authorization", Basic(kUser, "wrong")}}, ""}).status,
            401);
  EXPECT_EQ(
      connection.Send({"GET", "/v2/", {{"Authorization", Basic(kUser, kPassword)}}, ""}).status,
      200);
}

TEST(BasicAuthTestRegistry, SkopeoCopiesAnImageWithTheUsersPassword) {
  BasicAuthTestRegistry registry(kUser, kPassword);
  TestDir dir;
  // skopeo trusts the *.crt of a directory.
  std::filesystem::create_directories(dir.path() / "certs");
  std::filesystem::copy_file(registry.ca_file(), dir.path() / "certs" / "ca.crt");
  const auto layout = WriteOciLayout(dir.path());
  const std::string destination = registry.url() + "/web:latest";
  const std::vector<std::string> trust = {"--dest-cert-dir", (dir.path() / "certs").string()};

  std::vector<std::string> wrong = trust;
  wrong.insert(wrong.end(), {"--dest-creds", std::string(kUser) + ":wrong"});
  const RunResult refused = SkopeoCopy(dir.path(), layout, destination, wrong);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("unauthorized"), std::string::npos) << refused.err;

  std::vector<std::string> right = trust;
  right.insert(right.end(), {"--dest-creds", std::string(kUser) + ":" + kPassword});
  const RunResult r = SkopeoCopy(dir.path(), layout, destination, right);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace hephy
