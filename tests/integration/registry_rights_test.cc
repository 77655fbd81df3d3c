// The embedded registry keeps apps apart: it takes tokens that hephyd
// issues (GET /v2/token), pushing is hephyd's alone, and pulling an app's
// images needs read access to that app. Real hephyd, docker-registry,
// buildah, ssh and git; skopeo as the client users pull with.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "net/http_connection.h"
#include "skopeo_copy.h"
#include "test_daemon.h"
#include "util/base64.h"

namespace hephy {
namespace {

using nlohmann::json;

class RegistryRightsTest : public ::testing::Test {
 protected:
  RegistryRightsTest() : daemon_("builder:\n  platforms: [linux/amd64]\n") {
    daemon_.AddUser("root", true);
    alice_ = daemon_.AddUser("alice");
    bob_ = daemon_.AddUser("bob");
    daemon_.AddUser("carol");
    for (const char* user : {"alice", "bob", "carol"}) {
      const RunResult r = daemon_.Cli({"tokens", "create", user, "--name", "registry"});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      tokens_[user] = r.out.substr(0, r.out.find('\n'));
    }
    daemon_.Start();
    web_ = PushApp(alice_, "web", "FROM scratch\nCOPY hello.txt /hello.txt\n");
    EXPECT_EQ(daemon_.Cli({"apps", "grant", "web", "carol", "read"}).exit_code, 0);
  }

  // Pushes a new commit of `app` with `dockerfile` and a hello.txt; the
  // built image ("REGISTRY/APP@sha256:..."), or "" when the push failed.
  std::string PushApp(const TestKey& key, const std::string& app, const std::string& dockerfile) {
    const auto src = daemon_.dir() / ("src-" + app);
    if (!std::filesystem::exists(src)) MakeRepo(src);
    std::ofstream(src / "hello.txt") << app << " " << ++pushes_ << "\n";
    GitOk(src, {"add", "hello.txt"});
    CommitFile(src, "Dockerfile", dockerfile, "push " + std::to_string(pushes_));
    last_push_ = daemon_.Git(key, {"push", daemon_.Url(app + ".git"), "main"}, src);
    const std::string image = "image " + daemon_.registry_url() + "/" + app + "@";
    const auto at = last_push_.err.find(image);
    if (last_push_.exit_code != 0 || at == std::string::npos) return "";
    const auto start = at + 6;
    std::string line = last_push_.err.substr(start, last_push_.err.find('\n', start) - start);
    line.erase(line.find_last_not_of(" \r") + 1);  // git pads remote: lines
    return line;
  }

  // `skopeo ARGS` against the plain-HTTP registry.
  static RunResult Skopeo(std::vector<std::string> args) {
    args.insert(args.begin(), "skopeo");
    return hephy::Run({.argv = args});
  }
  RunResult Inspect(const std::string& image, const std::string& user = "") {
    std::vector<std::string> args = {"inspect", "--raw", "--tls-verify=false"};
    if (!user.empty()) args.insert(args.end(), {"--creds", user + ":" + tokens_[user]});
    args.push_back("docker://" + image);
    return Skopeo(args);
  }
  // Copies a tiny image of the test's own into `app`'s repository.
  RunResult PushForeignImage(const std::string& app, const std::string& user = "") {
    const auto layout = WriteOciLayout(daemon_.dir() / ("foreign-" + app + user));
    std::vector<std::string> args = {"copy", "--dest-tls-verify=false"};
    if (!user.empty()) args.insert(args.end(), {"--dest-creds", user + ":" + tokens_[user]});
    args.push_back("oci:" + layout.string() + ":latest");
    args.push_back("docker://" + daemon_.registry_url() + "/" + app + ":evil");
    return Skopeo(args);
  }

  HttpResponse Get(uint16_t port, const std::string& target,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    HttpConnection connection({"127.0.0.1", port}, std::chrono::seconds(30), 1024 * 1024);
    return connection.Send({"GET", target, headers, ""});
  }
  uint16_t RegistryPort() const { return ParseHostPort(daemon_.registry_url(), 80).port; }

  TestDaemon daemon_;
  TestKey alice_, bob_;
  std::map<std::string, std::string> tokens_;
  std::string web_;  // alice's app, which carol may read and bob may not
  RunResult last_push_;
  int pushes_ = 0;
};

// What a refused skopeo says: 401 or 403, in the words of containers/image.
bool Refused(const RunResult& r) {
  return r.exit_code != 0 && (r.err.find("unauthorized") != std::string::npos ||
                              r.err.find("authentication required") != std::string::npos ||
                              r.err.find("denied") != std::string::npos);
}

TEST_F(RegistryRightsTest, AnonymousClientsNeitherPullNorPush) {
  ASSERT_FALSE(web_.empty()) << last_push_.err;
  // hephyd's own pushes got through; nobody else's do.
  const HttpResponse challenge = Get(RegistryPort(), "/v2/");
  EXPECT_EQ(challenge.status, 401);
  EXPECT_EQ(challenge.Header("www-authenticate"),
            "Bearer realm=\"http://127.0.0.1:" + std::to_string(daemon_.http_port()) +
                "/v2/token\",service=\"hephyd-registry\"");
  const RunResult pull = Inspect(web_);
  EXPECT_TRUE(Refused(pull)) << pull.err;
  const RunResult push = PushForeignImage("web");
  EXPECT_TRUE(Refused(push)) << push.err;

  // The key the tokens are signed with stays hephyd's.
  struct stat key {};
  ASSERT_EQ(stat((daemon_.data_dir() / "registry-token.key").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
}

TEST_F(RegistryRightsTest, UsersPullWhatTheyMayReadAndPushNothing) {
  ASSERT_FALSE(web_.empty()) << last_push_.err;
  // carol reads web: with --creds, and logged in as podman and docker log in.
  RunResult r = Inspect(web_, "carol");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["mediaType"], "application/vnd.oci.image.index.v1+json");
  const auto authfile = daemon_.dir() / "carol-auth.json";
  r = hephy::Run({.argv = {"skopeo", "login", "--tls-verify=false", "--authfile", authfile.string(),
                           "--username", "carol", "--password-stdin", daemon_.registry_url()}},
                 tokens_["carol"]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Login Succeeded"), std::string::npos) << r.out;
  r = Skopeo({"inspect", "--raw", "--tls-verify=false", "--authfile", authfile.string(),
              "docker://" + web_});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // bob may not read web.
  r = Inspect(web_, "bob");
  EXPECT_TRUE(Refused(r)) << r.err;
  // Nobody pushes but hephyd, web's owner alice included.
  r = PushForeignImage("web", "alice");
  EXPECT_TRUE(Refused(r)) << r.err;
  r = PushForeignImage("carol", "carol");
  EXPECT_TRUE(Refused(r)) << r.err;
  // A wrong token does not even log in.
  r = hephy::Run({.argv = {"skopeo", "login", "--tls-verify=false", "--authfile", authfile.string(),
                           "--username", "carol", "--password-stdin", daemon_.registry_url()}},
                 tokens_["bob"]);
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(RegistryRightsTest, ATokenForOneAppDoesNotPullAnother) {
  ASSERT_FALSE(web_.empty()) << last_push_.err;
  const std::string api = PushApp(bob_, "api", "FROM scratch\nCOPY hello.txt /hello.txt\n");
  ASSERT_FALSE(api.empty()) << last_push_.err;
  const auto digest_of = [](const std::string& image) { return image.substr(image.find('@') + 1); };

  // alice asks for both apps; her token grants web alone.
  const HttpResponse answer =
      Get(daemon_.http_port(),
          "/v2/token?service=hephyd-registry&scope=repository:web:pull&scope=repository:api:pull",
          {{"Authorization", "Basic " + Base64Encode("alice:" + tokens_["alice"])}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  const std::string token = json::parse(answer.body)["token"];
  const std::vector<std::pair<std::string, std::string>> bearer = {
      {"Authorization", "Bearer " + token}, {"Accept", "application/vnd.oci.image.index.v1+json"}};
  EXPECT_EQ(Get(RegistryPort(), "/v2/web/manifests/" + digest_of(web_), bearer).status, 200);
  EXPECT_EQ(Get(RegistryPort(), "/v2/api/manifests/" + digest_of(api), bearer).status, 401);

  // A wrong token gets no token at all.
  const HttpResponse wrong =
      Get(daemon_.http_port(), "/v2/token?service=hephyd-registry&scope=repository:web:pull",
          {{"Authorization", "Basic " + Base64Encode("alice:" + tokens_["bob"])}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.Header("www-authenticate"), "Basic realm=\"hephyd\"");
}

TEST_F(RegistryRightsTest, ABuildPullsWithItsPushersRights) {
  ASSERT_FALSE(web_.empty()) << last_push_.err;
  // bob's Dockerfile names alice's image: his build may not pull it.
  const std::string dockerfile = "FROM " + web_ + "\nCOPY hello.txt /bob.txt\n";
  EXPECT_EQ(PushApp(bob_, "tool", dockerfile), "");
  EXPECT_NE(last_push_.exit_code, 0);
  EXPECT_TRUE(Refused(last_push_)) << last_push_.err;
  EXPECT_NE(last_push_.err.find("[linux/amd64] failed"), std::string::npos) << last_push_.err;
  EXPECT_NE(last_push_.err.find("a build pulls only images of apps its pusher may read"),
            std::string::npos)
      << last_push_.err;

  // Once alice lets him read web, the same Dockerfile builds.
  ASSERT_EQ(daemon_.Cli({"apps", "grant", "web", "bob", "read"}).exit_code, 0);
  EXPECT_NE(PushApp(bob_, "tool", dockerfile), "") << last_push_.err;
}

}  // namespace
}  // namespace hephy
