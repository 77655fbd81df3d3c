#include "upstream/upstream_url.h"

#include <gtest/gtest.h>

#include "hephy/error.h"

namespace hephy {
namespace {

std::string ProblemOf(std::string_view url) { return UpstreamUrlProblem(url).value_or("ok"); }

TEST(UpstreamUrl, AcceptsTheDocumentedForms) {
  for (const char* url :
       {"https://github.com/chainguard-dev/kaniko", "https://git.example.com:8443/team/app.git",
        "http://10.0.0.1/x.git", "git://git.kernel.org/pub/scm/git/git.git",
        "ssh://git@github.com/org/repo.git", "ssh://[::1]:2222/repo.git", "ssh://host.example/repo",
        "git@github.com:org/repo.git", "host.example:repo", "file:///srv/git/app.git",
        "/srv/git/app.git"}) {
    EXPECT_EQ(ProblemOf(url), "ok") << url;
  }
}

TEST(UpstreamUrl, SplitsUrls) {
  UpstreamUrl u = ParseUpstreamUrl("HTTPS://Git.Example.com:8443/Team/app.git");
  EXPECT_EQ(u.kind, UpstreamUrl::Kind::kHttps);
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "git.example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.path, "/Team/app.git");

  u = ParseUpstreamUrl("ssh://deploy@[::1]:2222/repo.git");
  EXPECT_EQ(u.kind, UpstreamUrl::Kind::kSsh);
  EXPECT_EQ(u.user, "deploy");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 2222);

  u = ParseUpstreamUrl("git@github.com:org/repo.git");
  EXPECT_EQ(u.kind, UpstreamUrl::Kind::kSsh);
  EXPECT_EQ(u.user, "git");
  EXPECT_EQ(u.host, "github.com");
  EXPECT_EQ(u.port, 0);
  EXPECT_EQ(u.path, "org/repo.git");

  EXPECT_EQ(ParseUpstreamUrl("file:///srv/a.git").kind, UpstreamUrl::Kind::kLocal);
  EXPECT_EQ(ParseUpstreamUrl("/srv/a.git").path, "/srv/a.git");
}

TEST(UpstreamUrl, RefusesCredentialsInTheUrlWithoutRepeatingThem) {
  for (const char* url : {"https://user:s3cret@github.com/org/repo.git",
                          "ssh://git:s3cret@host/repo.git", "user:s3cret@host:repo.git"}) {
    const std::string problem = ProblemOf(url);
    EXPECT_EQ(problem,
              "carries a password; put credentials in the file named by "
              "upstreams.credentials_file instead")
        << url;
  }
  EXPECT_EQ(ProblemOf("https://ghp_s3cret@github.com/org/repo.git"),
            "carries a user name; put credentials in the file named by "
            "upstreams.credentials_file instead");
}

TEST(UpstreamUrl, RefusesOtherFormsWithTheReason) {
  EXPECT_EQ(ProblemOf(""), "is empty");
  EXPECT_EQ(ProblemOf("ftp://host/x"),
            "unsupported scheme 'ftp' (expected https, http, ssh, git or file)");
  EXPECT_EQ(ProblemOf("ext::sh -c touch% /tmp/pwned"), "contains whitespace or control characters");
  EXPECT_EQ(ProblemOf("ext::sh"), "transport helpers ('ext::') are not supported");
  EXPECT_EQ(ProblemOf("fd::17"), "transport helpers ('fd::') are not supported");
  EXPECT_EQ(ProblemOf("repos/app.git"),
            "is neither a URL nor an absolute path (expected an https://, http://, ssh://, git:// "
            "or file:/// URL, USER@HOST:PATH or an absolute path)");
  EXPECT_EQ(ProblemOf("./app"), ProblemOf("repos/app.git"));
  EXPECT_EQ(ProblemOf("https://host/x\n"), "contains whitespace or control characters");
  EXPECT_EQ(ProblemOf("https://host/x?token=1"),
            "query strings and fragments ('?', '#') are not supported");
  EXPECT_EQ(ProblemOf("https:///x"), "has no host");
  EXPECT_EQ(ProblemOf("https://host"), "has no repository path");
  EXPECT_EQ(ProblemOf("https://host/"), "has no repository path");
  EXPECT_EQ(ProblemOf("https://host:99999/x"), "port must be a number from 1 to 65535");
  EXPECT_EQ(ProblemOf("https://host:/x"), "port must be a number from 1 to 65535");
  EXPECT_EQ(ProblemOf("https://-oProxyCommand=x/y"), "invalid host name '-oProxyCommand=x'");
  EXPECT_EQ(ProblemOf("ssh://-oProxyCommand=x/y"), "invalid host name '-oProxyCommand=x'");
  EXPECT_EQ(ProblemOf("-oProxyCommand=x:y"), "invalid host name '-oProxyCommand=x'");
  EXPECT_EQ(ProblemOf("file://host/srv/x"),
            "expected file:///ABSOLUTE/PATH (a local path, no host)");
  EXPECT_EQ(ProblemOf("git@host:"), "has no repository path");
  EXPECT_EQ(ProblemOf("ssh://[::1/x"), "unclosed '[' in the host");
  EXPECT_THROW(ParseUpstreamUrl("ftp://host/x"), Error);
}

}  // namespace
}  // namespace hephy
