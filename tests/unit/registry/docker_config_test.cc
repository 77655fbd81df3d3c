#include "registry/docker_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "error_of.h"
#include "test_dir.h"
#include "util/base64.h"

namespace hephy {

// Readable failures; these are test values, not secrets.
void PrintTo(const RegistryCredentials& c, std::ostream* out) {
  *out << "{username=" << c.username << " password=" << c.password
       << " identity_token=" << c.identity_token << "}";
}

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// An auths entry as `docker login` writes it.
json Auth(const std::string& user_colon_password) {
  return {{"auth", Base64Encode(user_colon_password)}};
}

// Sets (or unsets, for nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

std::string ReadText(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string SystemPath() {
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "/usr/bin:/bin";
}

class DockerConfigTest : public ::testing::Test {
 protected:
  DockerConfigTest()
      : file_(dir_.path() / "config.json"),
        bin_(dir_.path() / "bin"),
        path_("PATH", (bin_.string() + ":" + SystemPath()).c_str()) {
    std::filesystem::create_directory(bin_);
  }

  void WriteText(const std::string& text) { std::ofstream(file_) << text; }
  void WriteConfig(const json& config) { WriteText(config.dump()); }

  // An executable docker-credential-NAME in the directory first on PATH.
  void WriteHelper(const std::string& name, const std::string& script) {
    const auto program = bin_ / ("docker-credential-" + name);
    std::ofstream(program) << "#!/bin/sh\n" << script;
    chmod(program.c_str(), 0755);
  }

  std::optional<RegistryCredentials> For(const std::string& registry,
                                         milliseconds timeout = milliseconds(10000)) {
    return DockerConfig::Load(file_).CredentialsFor(registry, timeout);
  }

  // "USER:PASSWORD", "USER token=TOKEN" or "anonymous", for short assertions.
  std::string Text(const std::string& registry) {
    const auto c = For(registry);
    if (!c) return "anonymous";
    if (!c->identity_token.empty()) return c->username + " token=" + c->identity_token;
    return c->username + ":" + c->password;
  }

  TestDir dir_;
  std::filesystem::path file_;
  std::filesystem::path bin_;
  ScopedEnv path_;
};

TEST_F(DockerConfigTest, MissingOrEmptyFileIsAnonymous) {
  EXPECT_EQ(For("registry.example.com"), std::nullopt);
  WriteText("\n");
  EXPECT_EQ(For("registry.example.com"), std::nullopt);
}

TEST_F(DockerConfigTest, AuthIsBase64UserColonPasswordSplitAtTheFirstColon) {
  WriteConfig(json{{"auths", {{"registry.example.com:5000", Auth("alice:pa:ss")}}}});
  EXPECT_EQ(Text("registry.example.com:5000"), "alice:pa:ss");
  EXPECT_EQ(Text("registry.example.com"), "anonymous");
}

TEST_F(DockerConfigTest, AuthWinsOverUsernameAndPasswordFields) {
  json both = Auth("carol:c0");
  both["username"] = "bob";
  both["password"] = "hunter2";
  WriteConfig(json{{"auths",
                    {{"a.example.com", {{"username", "bob"}, {"password", "hunter2"}}},
                     {"b.example.com", both}}}});
  EXPECT_EQ(Text("a.example.com"), "bob:hunter2");
  EXPECT_EQ(Text("b.example.com"), "carol:c0");
}

TEST_F(DockerConfigTest, IdentityTokenIsKeptApart) {
  json entry = Auth("dave:");
  entry["identitytoken"] = "refresh-me";
  WriteConfig(json{{"auths", {{"registry.example.com", entry}}}});
  const auto c = For("registry.example.com");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (RegistryCredentials{.username = "dave", .identity_token = "refresh-me"}));
}

TEST_F(DockerConfigTest, EntryWithoutCredentialsIsAnonymous) {
  // What `docker login` leaves in auths when a helper stores the secret.
  WriteText(R"({"auths": {"registry.example.com": {}, "other.example.com": null}})");
  EXPECT_EQ(For("registry.example.com"), std::nullopt);
  EXPECT_EQ(For("other.example.com"), std::nullopt);
}

TEST_F(DockerConfigTest, DockerHubNamesAllUseTheIndexKey) {
  WriteConfig(json{
      {"auths", {{"https://index.docker.io/v1/", Auth("hub:h")}, {"docker.io", Auth("plain:p")}}}});
  EXPECT_EQ(Text("docker.io"), "hub:h");
  EXPECT_EQ(Text("index.docker.io"), "hub:h");
  EXPECT_EQ(Text("registry-1.docker.io"), "hub:h");
}

TEST_F(DockerConfigTest, UrlKeysMatchTheirHostAndPortOnly) {
  WriteConfig(json{{"auths",
                    {{"https://registry.example.com:5000/v2/", Auth("url:u")},
                     {"http://plain.example.com", Auth("plain:p")},
                     {"zeta.example.com", Auth("zeta:e")},
                     {"https://zeta.example.com/v1/", Auth("url:x")}}}});
  EXPECT_EQ(Text("registry.example.com:5000"), "url:u");
  EXPECT_EQ(Text("registry.example.com:5001"), "anonymous");
  EXPECT_EQ(Text("registry.example.com"), "anonymous");
  EXPECT_EQ(Text("plain.example.com"), "plain:p");
  // An exact key wins over one that matches only once stripped (and sorts first).
  EXPECT_EQ(Text("zeta.example.com"), "zeta:e");
}

TEST_F(DockerConfigTest, HelperGetsTheServerUrlOnStdinAndItsAnswerIsUsed) {
  const auto seen = dir_.path() / "seen";
  WriteHelper("test", "seen='" + seen.string() +
                          "'\n"
                          "printf '%s ' \"$1\" >> \"$seen\"\n"
                          "cat >> \"$seen\"\n"
                          "echo >> \"$seen\"\n"
                          "echo '{\"ServerURL\":\"x\",\"Username\":\"erin\",\"Secret\":\"s3\"}'\n");
  WriteText(R"({"credsStore": "test"})");
  EXPECT_EQ(Text("registry.example.com:5000"), "erin:s3");
  EXPECT_EQ(Text("docker.io"), "erin:s3");
  EXPECT_EQ(ReadText(seen), "get registry.example.com:5000\nget https://index.docker.io/v1/\n");
}

TEST_F(DockerConfigTest, HelperTokenUserMeansAnIdentityToken) {
  WriteHelper("test", "echo '{\"Username\":\"<token>\",\"Secret\":\"refresh-me\"}'\n");
  WriteText(R"({"credsStore": "test"})");
  const auto c = For("registry.example.com");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, RegistryCredentials{.identity_token = "refresh-me"});
}

TEST_F(DockerConfigTest, CredHelpersBeatCredsStoreWhichBeatsAuths) {
  WriteHelper("per", "echo '{\"Username\":\"per\",\"Secret\":\"p\"}'\n");
  WriteHelper("store", "echo '{\"Username\":\"store\",\"Secret\":\"s\"}'\n");
  const json auths = {{"a.example.com", Auth("file:a")},
                      {"b.example.com", Auth("file:b")},
                      {"c.example.com", Auth("file:c")}};
  WriteConfig(json{{"auths", auths},
                   {"credsStore", "store"},
                   {"credHelpers", {{"a.example.com", "per"}, {"c.example.com", ""}}}});
  EXPECT_EQ(Text("a.example.com"), "per:p");
  EXPECT_EQ(Text("b.example.com"), "store:s");
  // An empty helper means the file, as in docker.
  EXPECT_EQ(Text("c.example.com"), "file:c");
  WriteConfig(json{{"auths", auths}, {"credHelpers", {{"a.example.com", "per"}}}});
  EXPECT_EQ(Text("a.example.com"), "per:p");
  EXPECT_EQ(Text("b.example.com"), "file:b");
}

TEST_F(DockerConfigTest, HelperWithoutTheCredentialsIsAnonymous) {
  WriteHelper("test", "echo 'credentials not found in native keychain'\nexit 1\n");
  WriteConfig(json{{"credsStore", "test"}, {"auths", {{"registry.example.com", Auth("file:f")}}}});
  EXPECT_EQ(For("registry.example.com"), std::nullopt);
}

TEST_F(DockerConfigTest, FailingHelperIsAnErrorWithItsStderrButNeverItsStdout) {
  WriteHelper("test",
              "echo '{\"Username\":\"u\",\"Secret\":\"s3cret-out\"}'\necho boom >&2\nexit 1\n");
  WriteText(R"({"credsStore": "test"})");
  const std::string error = ErrorOf([&] { For("registry.example.com"); });
  EXPECT_NE(error.find("registry.example.com"), std::string::npos) << error;
  EXPECT_NE(error.find("docker-credential-test"), std::string::npos) << error;
  EXPECT_NE(error.find("status 1: boom"), std::string::npos) << error;
  EXPECT_EQ(error.find("s3cret-out"), std::string::npos) << error;
}

TEST_F(DockerConfigTest, LongHelperStderrIsCut) {
  WriteHelper("test", "for i in 1 2 3 4 5; do echo \"  line $i  \" >&2; done\nexit 2\n");
  WriteText(R"({"credsStore": "test"})");
  const std::string error = ErrorOf([&] { For("registry.example.com"); });
  EXPECT_NE(error.find("status 2: line 1; line 2; line 3 ..."), std::string::npos) << error;
  EXPECT_EQ(error.find("line 4"), std::string::npos) << error;
}

TEST_F(DockerConfigTest, MalformedHelperAnswerIsAnErrorWithoutTheAnswer) {
  WriteHelper("test", "echo '{\"Username\":\"u\",\"Secret\":\"s3cret-out\"'\n");
  WriteText(R"({"credsStore": "test"})");
  const std::string error = ErrorOf([&] { For("registry.example.com"); });
  EXPECT_NE(error.find("docker-credential-test"), std::string::npos) << error;
  EXPECT_NE(error.find("answered with something other than"), std::string::npos) << error;
  EXPECT_EQ(error.find("s3cret-out"), std::string::npos) << error;
}

TEST_F(DockerConfigTest, SlowHelperTimesOut) {
  WriteHelper("test", "exec sleep 30\n");
  WriteText(R"({"credsStore": "test"})");
  const auto start = std::chrono::steady_clock::now();
  const std::string error = ErrorOf([&] { For("registry.example.com", milliseconds(200)); });
  EXPECT_NE(error.find("docker-credential-test"), std::string::npos) << error;
  EXPECT_NE(error.find("timed out after 200 ms"), std::string::npos) << error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(DockerConfigTest, MissingHelperIsAnErrorNamingIt) {
  WriteText(R"({"credHelpers": {"registry.example.com": "hephy-no-such-helper"}})");
  const std::string error = ErrorOf([&] { For("registry.example.com"); });
  EXPECT_NE(error.find("registry.example.com"), std::string::npos) << error;
  EXPECT_NE(error.find("docker-credential-hephy-no-such-helper"), std::string::npos) << error;
}

TEST_F(DockerConfigTest, HelperNamesCannotBePaths) {
  WriteText(R"({"credsStore": "../../bin/sh"})");
  EXPECT_EQ(ErrorOf([&] { DockerConfig::Load(file_); }),
            file_.string() +
                ": credsStore: \"../../bin/sh\" is not a credential helper name (letters, digits, "
                "'_', '.', '-')");
  WriteText(R"({"credHelpers": {"r.example.com": "a b"}})");
  EXPECT_NE(ErrorOf([&] { DockerConfig::Load(file_); }).find("credHelpers[\"r.example.com\"]"),
            std::string::npos);
}

TEST_F(DockerConfigTest, MalformedJsonNamesTheFileAndLineButNotTheText) {
  WriteText("{\"auths\": {\n  \"r.example.com\": {\"auth\": \"s3cret\" ,,}}}\n");
  EXPECT_EQ(ErrorOf([&] { DockerConfig::Load(file_); }), file_.string() + ":2: not valid JSON");
}

TEST_F(DockerConfigTest, NumberOutOfRangeIsAnErrorNamingTheFile) {
  // docker_config_fuzzer's input: a number beyond a double, which the JSON
  // parser reports as out_of_range rather than parse_error.
  WriteText(
      std::string("44444444444444e44444444444444$444444444799``\xa0"
                  "\0\n\x89"
                  "8er\x0b.",
                  53));
  EXPECT_EQ(ErrorOf([&] { DockerConfig::Load(file_); }),
            file_.string() + ": not valid JSON: a number is out of range");
  WriteText(R"({"auths": {"r.example.com": {"auth": 1e999}}})");
  EXPECT_EQ(ErrorOf([&] { DockerConfig::Load(file_); }),
            file_.string() + ": not valid JSON: a number is out of range");
}

TEST_F(DockerConfigTest, HelperAnswerWithANumberOutOfRangeIsMalformed) {
  WriteHelper("test", "echo '{\"Username\": 1e999, \"Secret\": \"s3cret-out\"}'\n");
  WriteText(R"({"credsStore": "test"})");
  const std::string error = ErrorOf([&] { For("registry.example.com"); });
  EXPECT_NE(error.find("answered with something other than"), std::string::npos) << error;
  EXPECT_EQ(error.find("s3cret-out"), std::string::npos) << error;
}

TEST_F(DockerConfigTest, WrongTypesNameTheFieldButNotTheValue) {
  const auto error = [&](const std::string& text) {
    WriteText(text);
    return ErrorOf([&] { DockerConfig::Load(file_); });
  };
  EXPECT_EQ(error("[]"), file_.string() + ": expected a JSON object");
  EXPECT_EQ(error(R"({"auths": ["s3cret"]})"), file_.string() + ": auths: expected an object");
  EXPECT_EQ(error(R"({"auths": {"r.example.com": {"password": ["s3cret"]}}})"),
            file_.string() + ": auths[\"r.example.com\"].password: expected a string");
  EXPECT_EQ(
      error(R"({"auths": {"r.example.com": {"auth": "not base64 s3cret"}}})"),
      file_.string() + ": auths[\"r.example.com\"].auth: expected base64 of \"user:password\"");
  EXPECT_EQ(
      error(json{{"auths", {{"r.example.com", Auth("no-colon")}}}}.dump()),
      file_.string() + ": auths[\"r.example.com\"].auth: expected base64 of \"user:password\"");
  EXPECT_EQ(error(R"({"credHelpers": {"r.example.com": 1}})"),
            file_.string() + ": credHelpers[\"r.example.com\"]: expected a string");
  EXPECT_EQ(error(R"({"credsStore": {}})"), file_.string() + ": credsStore: expected a string");
}

TEST_F(DockerConfigTest, UnreadableFileIsAnErrorNamingIt) {
  std::filesystem::create_directory(file_);
  EXPECT_EQ(ErrorOf([&] { DockerConfig::Load(file_); }),
            file_.string() + ": cannot read: Is a directory");
}

TEST_F(DockerConfigTest, AuthFileForRoundTripsThroughLoad) {
  const RegistryCredentials password{.username = "alice", .password = "pa:ss"};
  const RegistryCredentials token{.identity_token = "refresh-me"};
  const RegistryCredentials both{.username = "bob", .identity_token = "t"};

  EXPECT_EQ(json::parse(AuthFileFor("registry.example.com:5000", password)),
            (json{{"auths", {{"registry.example.com:5000", Auth("alice:pa:ss")}}}}));
  // A user name for tools that skip an entry without one; Load drops it.
  EXPECT_EQ(json::parse(AuthFileFor("registry.example.com", token)),
            (json{{"auths",
                   {{"registry.example.com",
                     {{"auth", Base64Encode("<token>:")}, {"identitytoken", "refresh-me"}}}}}}));

  for (const auto& [registry, credentials] :
       {std::pair{std::string("registry.example.com:5000"), password},
        {"registry.example.com", token},
        {"docker.io", both}}) {
    WriteText(AuthFileFor(registry, credentials));
    EXPECT_EQ(For(registry), credentials) << registry;
  }
  EXPECT_TRUE(json::parse(AuthFileFor("docker.io", password))["auths"].contains(
      "https://index.docker.io/v1/"));
}

}  // namespace
}  // namespace hephy
