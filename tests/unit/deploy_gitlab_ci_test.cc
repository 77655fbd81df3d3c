// deploy/gitlab-ci/ checked offline: its templates must hold the jobs its
// README promises, with the inputs they declare, and the configuration the
// build job writes must be one hephyd accepts.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "deploy_kit.h"
#include "hephy/config.h"

namespace hephy {
namespace {

using deploy_kit::Get;
using deploy_kit::kRoot;

// A GitLab CI template: a spec header declaring inputs, then the jobs.
struct CiTemplate {
  std::string file;
  YAML::Node inputs;
  YAML::Node jobs;
  std::string jobs_text;  // as written, with its $[[ inputs.NAME ]]
};

CiTemplate LoadCiTemplate(const std::string& name) {
  CiTemplate t{"deploy/gitlab-ci/" + name};
  std::ifstream in(kRoot / t.file);
  const std::string text(std::istreambuf_iterator<char>(in), {});
  const auto separator = text.find("\n---\n");
  if (separator == std::string::npos) {
    ADD_FAILURE() << t.file << ": no '---' between the spec header and the jobs";
    return t;
  }
  t.inputs = Get(YAML::Load(text.substr(0, separator)), {"spec", "inputs"});
  t.jobs_text = text.substr(separator + 5);
  t.jobs = YAML::Load(t.jobs_text);
  return t;
}

// Every $[[ inputs.NAME ]] of the jobs is declared, and every declared input is used.
void ExpectInputsDeclaredAndUsed(const CiTemplate& t) {
  std::set<std::string> used, declared;
  static const std::regex kInput(R"(\$\[\[\s*inputs\.([a-z_]+)\s*\]\])");
  for (std::sregex_iterator it(t.jobs_text.begin(), t.jobs_text.end(), kInput), end; it != end;
       ++it) {
    used.insert((*it)[1]);
  }
  for (const auto& input : t.inputs) declared.insert(input.first.as<std::string>());
  EXPECT_EQ(used, declared) << t.file << ": spec.inputs and the $[[ inputs.* ]] the jobs use";
}

// The jobs' text with each $[[ inputs.NAME ]] replaced by `values[NAME]` or its default.
std::string Interpolate(const CiTemplate& t, std::map<std::string, std::string> values) {
  for (const auto& input : t.inputs) {
    values.try_emplace(input.first.as<std::string>(), input.second["default"].as<std::string>(""));
  }
  std::string text = t.jobs_text;
  for (const auto& [name, value] : values) {
    text =
        std::regex_replace(text, std::regex(R"(\$\[\[\s*inputs\.)" + name + R"(\s*\]\])"), value);
  }
  return text;
}

std::string Script(const YAML::Node& job) {
  std::string script;
  for (const auto& line : job["script"]) script += line.as<std::string>() + "\n";
  return script;
}

TEST(GitlabCiTemplates, MirrorPushesEveryBranchAndTagWithTheDeployKey) {
  const CiTemplate t = LoadCiTemplate("mirror.yml");
  ExpectInputsDeclaredAndUsed(t);
  for (const std::string required : {"server", "app"}) {
    EXPECT_TRUE(t.inputs[required] && !Get(t.inputs, {required, "default"}))
        << t.file << ": spec.inputs." << required << " must be required (no default)";
  }
  const YAML::Node job = t.jobs["hephy-mirror"];
  ASSERT_TRUE(job.IsMap()) << t.file << ": no job hephy-mirror";
  EXPECT_EQ(Get(job, {"variables", "GIT_STRATEGY"}).as<std::string>(""), "none")
      << t.file << ": hephy-mirror.variables.GIT_STRATEGY";
  const std::string script = Script(job);
  EXPECT_NE(script.find("git clone --mirror \"$CI_REPOSITORY_URL\""), std::string::npos)
      << t.file << ": hephy-mirror.script makes no mirror clone";
  EXPECT_NE(script.find("$HEPHY_DEPLOY_KEY"), std::string::npos)
      << t.file << ": hephy-mirror.script does not use HEPHY_DEPLOY_KEY";
  EXPECT_NE(script.find("StrictHostKeyChecking=yes"), std::string::npos)
      << t.file << ": hephy-mirror.script must refuse unknown host keys";
  EXPECT_NE(script.find("push --force --prune \"$HEPHY_REMOTE\" 'refs/heads/*:refs/heads/*' "
                        "'refs/tags/*:refs/tags/*'"),
            std::string::npos)
      << t.file << ": hephy-mirror.script does not push branches and tags";

  const YAML::Node interpolated =
      YAML::Load(Interpolate(t, {{"server", "ssh://git@build.example.com:2222"}, {"app", "web"}}));
  EXPECT_EQ(Get(interpolated, {"hephy-mirror", "variables", "HEPHY_REMOTE"}).as<std::string>(""),
            "ssh://git@build.example.com:2222/web.git")
      << t.file << ": hephy-mirror.variables.HEPHY_REMOTE";
  EXPECT_TRUE(std::regex_match("ssh://git@build.example.com:2222",
                               std::regex(Get(t.inputs, {"server", "regex"}).as<std::string>(""))))
      << t.file << ": spec.inputs.server.regex refuses a valid address";
  EXPECT_FALSE(std::regex_match("ssh://git@host:22/x;rm -rf",
                                std::regex(Get(t.inputs, {"server", "regex"}).as<std::string>(""))))
      << t.file << ": spec.inputs.server.regex accepts a path and a shell word";
}

TEST(GitlabCiTemplates, BuildRunsHephydBuildWithKanikoLocalAndAConfigHephydAccepts) {
  const CiTemplate t = LoadCiTemplate("build.yml");
  ExpectInputsDeclaredAndUsed(t);
  const YAML::Node jobs = YAML::Load(Interpolate(
      t, {{"image", "hephyd-kaniko:test"}, {"registry", "registry.example.com"}, {"app", "web"}}));
  const YAML::Node job = jobs["hephy-build"];
  ASSERT_TRUE(job.IsMap()) << t.file << ": no job hephy-build";
  // Kaniko images' entrypoint is the executor; CI runs the script in a shell.
  EXPECT_EQ(Get(job, {"image", "entrypoint"}).size(), 1u)
      << t.file << ": hephy-build.image.entrypoint";
  EXPECT_EQ(Get(job, {"image", "entrypoint"})[0].as<std::string>("x"), "")
      << t.file << ": hephy-build.image.entrypoint";

  // The configuration the script writes, as hephyd reads it.
  const std::string script = Script(job);
  static const std::regex kHeredoc(R"(<<EOF\n([\s\S]*?)\nEOF\n)");
  std::smatch heredoc;
  ASSERT_TRUE(std::regex_search(script, heredoc, kHeredoc))
      << t.file << ": hephy-build.script writes no configuration";
  const Config config = ParseConfig(heredoc[1], t.file + " (hephy-build.script)", "/");
  EXPECT_EQ(config.builder.executor, "kaniko-local") << t.file << ": builder.executor";
  EXPECT_EQ(config.registry.url, "registry.example.com") << t.file << ": registry.url";
  EXPECT_FALSE(config.registry.embedded) << t.file << ": registry.embedded";
  // Kaniko replaces everything outside /kaniko with each base image.
  EXPECT_TRUE(config.data_dir.string().starts_with("/kaniko/")) << t.file << ": data_dir";
  EXPECT_EQ(config.registry.docker_config, "/kaniko/.docker/config.json")
      << t.file << ": registry.docker_config must be the file Kaniko reads";
  EXPECT_NE(script.find("hephyd build \"$CI_PROJECT_DIR\" --app \"web\""), std::string::npos)
      << t.file << ": hephy-build.script does not run hephyd build for the app";
}

}  // namespace
}  // namespace hephy
