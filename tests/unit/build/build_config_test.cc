#include "build/build_config.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

std::vector<std::string> ProblemsOf(const std::string& yaml, const std::string& unit = "kaniko") {
  std::vector<std::string> problems;
  ParseBuildConfig(yaml, "kaniko/build-config.yaml", unit, problems);
  return problems;
}

TEST(BuildConfig, ReadsEveryKey) {
  std::vector<std::string> problems;
  const BuildConfig c = ParseBuildConfig(R"(
upstream_repo: https://github.com/chainguard-dev/kaniko
upstream_ref: v1.25.3
dockerfile_path: deploy/Dockerfile
target: kaniko-executor
context_path: .
build_args: [GOARCH_DEFAULT=amd64, VERSION=1.25.3]
platforms: [linux/amd64, linux/arm64, wasi/wasm]
additional_tags: [v1.25.3, debug]
depends_on: [base]
network: none
)",
                                         "kaniko/build-config.yaml", "kaniko", problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_EQ(c.upstream_repo, "https://github.com/chainguard-dev/kaniko");
  EXPECT_EQ(c.upstream_ref, "v1.25.3");
  EXPECT_EQ(c.dockerfile_path, "deploy/Dockerfile");
  EXPECT_EQ(c.target, "kaniko-executor");
  EXPECT_EQ(c.build_args, (std::vector<std::string>{"GOARCH_DEFAULT=amd64", "VERSION=1.25.3"}));
  EXPECT_EQ(c.platforms.size(), 3u);
  EXPECT_EQ(c.additional_tags, (std::vector<std::string>{"v1.25.3", "debug"}));
  EXPECT_EQ(c.depends_on, std::vector<std::string>{"base"});
  EXPECT_EQ(c.network, NetworkMode::kNone);
}

TEST(BuildConfig, AnEmptyFileMeansTheDefaults) {
  std::vector<std::string> problems;
  const BuildConfig c = ParseBuildConfig("", "web/build-config.yaml", "web", problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(c.dockerfile_path, "Dockerfile");
  EXPECT_EQ(c.context_path, ".");
  EXPECT_TRUE(c.platforms.empty());
  EXPECT_FALSE(c.network);
}

TEST(BuildConfig, EveryProblemIsReportedWithItsLine) {
  const auto problems = ProblemsOf(R"(upstream_repo: https://example.invalid/x
dockerfile_path: /etc/Dockerfile
context_path: ../../secrets
build_args: [NOEQUALS, 1BAD=x, GOOD=y]
platforms: [linux/amd64, x86]
additional_tags: [ok, "-starts-badly", "has space"]
colour: blue
target: [a, b]
network: open
)");
  const std::vector<std::string> expected = {
      "kaniko/build-config.yaml:1: upstream_ref: missing: a unit with upstream_repo needs "
      "upstream_ref (a tag, branch or commit)",
      "kaniko/build-config.yaml:2: dockerfile_path: '/etc/Dockerfile' is absolute; give a path "
      "relative to the unit",
      "kaniko/build-config.yaml:3: context_path: '../../secrets' leads outside the upstream "
      "repository (..)",
      "kaniko/build-config.yaml:4: build_args: 'NOEQUALS' has no '=' (expected KEY=value)",
      "kaniko/build-config.yaml:4: build_args: '1BAD' is not a build argument name (letters, "
      "digits and _, not starting with a digit)",
      "kaniko/build-config.yaml:5: platforms: invalid platform 'x86' (expected os/arch[/variant])",
      "kaniko/build-config.yaml:6: additional_tags: 'kaniko-has space' is not a valid image tag "
      "([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})",
      "kaniko/build-config.yaml:7: colour: unknown key (expected one of: additional_tags, "
      "build_args, context_path, depends_on, dockerfile_path, network, platforms, target, "
      "upstream_ref, upstream_repo)",
      "kaniko/build-config.yaml:8: target: expected a string",
      "kaniko/build-config.yaml:9: network: expected none, isolated or host",
  };
  EXPECT_EQ(problems, expected);
}

TEST(BuildConfig, PathsMayWanderInsideTheirTree) {
  EXPECT_TRUE(ProblemsOf("dockerfile_path: build/../deploy/Dockerfile\n").empty());
  EXPECT_EQ(ProblemsOf("dockerfile_path: ../Dockerfile\n"),
            std::vector<std::string>{"kaniko/build-config.yaml:1: dockerfile_path: "
                                     "'../Dockerfile' leads outside the context (..)"});
  // An in-tree context may be a sibling of the unit, inside the repository.
  EXPECT_TRUE(ProblemsOf("context_path: ../common\n").empty());
  EXPECT_EQ(ProblemsOf("context_path: a/../../../b\n"),
            std::vector<std::string>{"kaniko/build-config.yaml:1: context_path: "
                                     "'a/../../../b' leads outside the repository (..)"});
  // An upstream context starts at the upstream's root.
  EXPECT_EQ(
      ProblemsOf("upstream_repo: file:///srv/x\nupstream_ref: v1\ncontext_path: ../x\n").size(),
      1u);
}

TEST(BuildConfig, UpstreamUrlsAreCheckedWithTheirLine) {
  const auto problems =
      ProblemsOf("upstream_ref: v1\nupstream_repo: https://user:secret@example.org/x.git\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(problems[0].starts_with("kaniko/build-config.yaml:2: upstream_repo: "))
      << problems[0];
  EXPECT_EQ(problems[0].find("secret"), std::string::npos) << problems[0];
  EXPECT_EQ(ProblemsOf("upstream_repo: ftp://example.org/x\nupstream_ref: v1\n").size(), 1u);
}

TEST(BuildConfig, MalformedYamlAndNonMappingsAreProblems) {
  EXPECT_EQ(ProblemsOf("a: [1, 2\n"),
            std::vector<std::string>{
                "kaniko/build-config.yaml:2: invalid YAML: end of sequence flow not found"});
  EXPECT_EQ(ProblemsOf("- a\n- b\n"),
            std::vector<std::string>{
                "kaniko/build-config.yaml:1: build-config: expected a mapping of keys"});
  EXPECT_EQ(ProblemsOf("upstream_ref: v1\n"),
            std::vector<std::string>{
                "kaniko/build-config.yaml:1: upstream_ref: given without upstream_repo"});
}

TEST(BuildConfig, UnitNamesMustStartValidTags) {
  EXPECT_TRUE(ProblemsOf("", "tools-kaniko").empty());
  EXPECT_EQ(ProblemsOf("", ".hidden").size(), 1u);
  EXPECT_EQ(ProblemsOf("", std::string(99, 'a')).size(), 1u);
  EXPECT_TRUE(ProblemsOf("", std::string(98, 'a')).empty());
  EXPECT_EQ(UnitName("tools/kaniko/debug"), "tools-kaniko-debug");
}

TEST(BuildConfig, TagsFollowTheDistributionSpec) {
  EXPECT_TRUE(IsValidTag("kaniko-v1.25.3"));
  EXPECT_TRUE(IsValidTag("_x"));
  EXPECT_TRUE(IsValidTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
  EXPECT_FALSE(IsValidTag(".x"));
  EXPECT_FALSE(IsValidTag("-x"));
  EXPECT_FALSE(IsValidTag("a/b"));
  EXPECT_FALSE(IsValidTag(""));
}

}  // namespace
}  // namespace hephy
