#include "upstream/upstream_credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "error_of.h"
#include "test_dir.h"

namespace hephy {
namespace {

class UpstreamCredentialsTest : public ::testing::Test {
 protected:
  UpstreamCredentialsTest() { config_.credentials_file = dir_.path() / "upstream-credentials"; }

  void WriteFile(const std::string& text, mode_t mode = 0600) {
    std::ofstream(config_.credentials_file) << text;
    chmod(config_.credentials_file.c_str(), mode);
  }

  // "USER:PASSWORD from SOURCE", or "none".
  std::string For(const std::string& url) {
    const auto c = FindHttpCredential(config_, ParseUpstreamUrl(url));
    if (!c) return "none";
    return c->user + ":" + c->password + " from " + c->source;
  }

  TestDir dir_;
  UpstreamsConfig config_;
  std::string file() const { return config_.credentials_file.string(); }
};

TEST_F(UpstreamCredentialsTest, MatchesSchemeHostPortAndTheLongestPathPrefix) {
  WriteFile(
      "https://alice:t0k%40n@git.example.com\n"
      "https://bob:org-token@git.example.com/org\n"
      "https://carol:team-token@git.example.com/org/team/\n"
      "# a comment\n"
      "\n"
      "https://dave:port-token@git.example.com:8443\n"
      "http://erin:plain@git.example.com\n");
  EXPECT_EQ(For("https://git.example.com/other/x.git"), "alice:t0k@n from " + file() + ":1");
  EXPECT_EQ(For("https://git.example.com/org/x.git"), "bob:org-token from " + file() + ":2");
  EXPECT_EQ(For("https://git.example.com/org/team/x.git"),
            "carol:team-token from " + file() + ":3");
  // A prefix matches whole path parts only.
  EXPECT_EQ(For("https://git.example.com/organisation/x.git"), "alice:t0k@n from " + file() + ":1");
  EXPECT_EQ(For("https://GIT.example.com:443/org/x.git"), "bob:org-token from " + file() + ":2");
  EXPECT_EQ(For("https://git.example.com:8443/x.git"), "dave:port-token from " + file() + ":6");
  EXPECT_EQ(For("http://git.example.com/x.git"), "erin:plain from " + file() + ":7");
  EXPECT_EQ(For("https://other.example.com/x.git"), "none");
}

TEST_F(UpstreamCredentialsTest, TokenEnvIsForHttpsWithoutAFileEntry) {
  WriteFile("https://alice:file-token@git.example.com\n");
  config_.token_env = "HEPHY_TEST_UPSTREAM_TOKEN";
  config_.token_hosts = {"github.com", "Git.Example.com."};
  setenv("HEPHY_TEST_UPSTREAM_TOKEN", "env-token", 1);
  EXPECT_EQ(For("https://git.example.com/x.git"), "alice:file-token from " + file() + ":1");
  EXPECT_EQ(For("https://github.com/x.git"),
            "x-access-token:env-token from $HEPHY_TEST_UPSTREAM_TOKEN");
  EXPECT_EQ(For("https://git.example.com/other.git"), "alice:file-token from " + file() + ":1");
  EXPECT_EQ(For("http://github.com/x.git"), "none");
  // Only to token_hosts.
  EXPECT_EQ(For("https://gitlab.com/x.git"), "none");
  EXPECT_EQ(For("https://github.com.evil.example/x.git"), "none");
  setenv("HEPHY_TEST_UPSTREAM_TOKEN", "", 1);
  EXPECT_EQ(For("https://github.com/x.git"), "none");
  unsetenv("HEPHY_TEST_UPSTREAM_TOKEN");
  EXPECT_EQ(For("https://github.com/x.git"), "none");
}

TEST_F(UpstreamCredentialsTest, MissingFileHasNoCredentials) {
  EXPECT_EQ(For("https://git.example.com/x.git"), "none");
}

TEST_F(UpstreamCredentialsTest, RefusesAFileOthersCanRead) {
  WriteFile("https://alice:s3cret@git.example.com\n", 0640);
  EXPECT_EQ(ErrorOf([&] { For("https://git.example.com/x.git"); }),
            file() + ": credentials file is accessible by group or others; chmod 600 it");
  chmod(config_.credentials_file.c_str(), 0604);
  EXPECT_NE(ErrorOf([&] { For("https://git.example.com/x.git"); }), "");
}

TEST_F(UpstreamCredentialsTest, BadLinesNameTheLineButNotItsText) {
  for (const std::string bad :
       {"git.example.com s3cret", "https://alice@git.example.com", "https://git.example.com",
        "ssh://alice:s3cret@git.example.com", "https://alice:s3cret%zz@git.example.com",
        "https://alice:s3cret@/x"}) {
    WriteFile("https://ok:ok@host.example\n" + bad + "\n");
    const std::string error = ErrorOf([&] { For("https://git.example.com/x.git"); });
    EXPECT_EQ(error, file() + ":2: expected https://USER:TOKEN@HOST[/PATH-PREFIX]") << bad;
    EXPECT_EQ(error.find("s3cret"), std::string::npos);
  }
}

}  // namespace
}  // namespace hephy
