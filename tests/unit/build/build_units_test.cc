#include "build/build_units.h"

#include <gtest/gtest.h>

#include "git/libgit2.h"
#include "git/quarantine_repo.h"
#include "test_dir.h"
#include "work_tree.h"

namespace hephy {
namespace {

class BuildUnitsTest : public ::testing::Test {
 protected:
  std::vector<BuildUnit> Units(std::vector<std::string>& problems) {
    const std::string commit = tree_.Commit();
    const QuarantineRepo repo(tree_.git_dir(), {});
    return FindUnits(CommitReader(repo.get(), commit), "web", problems);
  }

  std::vector<std::string> Names() {
    std::vector<std::string> problems;
    std::vector<std::string> names;
    for (const auto& unit : Units(problems)) names.push_back(unit.name);
    EXPECT_TRUE(problems.empty()) << problems.front();
    return names;
  }

  TestDir dir_;
  WorkTree tree_{dir_.path() / "work"};
};

TEST_F(BuildUnitsTest, EveryDirectoryWithABuildConfigIsAUnitNamedAfterItsPath) {
  tree_.Write("kaniko-executor/build-config.yaml",
              "upstream_repo: https://example.invalid/kaniko\nupstream_ref: v1\n");
  tree_.Write("myservice/build-config.yaml", "");
  tree_.Write("myservice/Dockerfile", "FROM scratch\n");
  tree_.Write("tools/nested/web/build-config.yaml", "additional_tags: [edge]\n");
  tree_.Write("tools/nested/web/Dockerfile", "FROM scratch\n");
  tree_.Write("docs/README", "not a unit\n");
  std::vector<std::string> problems;
  const auto units = Units(problems);
  ASSERT_TRUE(problems.empty()) << problems.front();
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].name, "kaniko-executor");
  EXPECT_TRUE(units[0].upstream());
  EXPECT_EQ(units[1].name, "myservice");
  EXPECT_EQ(units[1].dir, "myservice");
  EXPECT_EQ(units[1].DockerfilePath(), "myservice/Dockerfile");
  EXPECT_EQ(units[2].name, "tools-nested-web");
  EXPECT_EQ(units[2].config.additional_tags, std::vector<std::string>{"edge"});
  EXPECT_FALSE(units[2].implicit);
}

TEST_F(BuildUnitsTest, ARootDockerfileAloneIsOneUnitNamedAfterTheApp) {
  tree_.Write("Dockerfile", "FROM scratch\n");
  tree_.Write("src/main.c", "int main() {}\n");
  std::vector<std::string> problems;
  const auto units = Units(problems);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].name, "web");
  EXPECT_TRUE(units[0].implicit);
  EXPECT_EQ(units[0].ContextDir(), "");
  EXPECT_EQ(units[0].config.additional_tags, std::vector<std::string>{"latest"});
}

TEST_F(BuildUnitsTest, ABuildConfigAnywhereReplacesTheRootDockerfile) {
  tree_.Write("Dockerfile", "FROM scratch\n");
  tree_.Write("api/build-config.yaml", "context_path: ..\n");
  EXPECT_EQ(Names(), std::vector<std::string>{"api"});
}

TEST_F(BuildUnitsTest, ARootBuildConfigIsAUnitNamedAfterTheApp) {
  tree_.Write("build-config.yaml", "additional_tags: [stable]\n");
  tree_.Write("Dockerfile", "FROM scratch\n");
  EXPECT_EQ(Names(), std::vector<std::string>{"web"});
}

TEST_F(BuildUnitsTest, NoUnitAndNoDockerfileIsNoUnitAndNoProblem) {
  tree_.Write("README", "hello\n");
  EXPECT_TRUE(Names().empty());
}

TEST_F(BuildUnitsTest, ContextsAndDockerfilesResolveInsideTheRepository) {
  tree_.Write("common/Dockerfile.api", "FROM scratch\n");
  tree_.Write("services/api/build-config.yaml",
              "context_path: ../../common\ndockerfile_path: Dockerfile.api\n");
  std::vector<std::string> problems;
  const auto units = Units(problems);
  ASSERT_TRUE(problems.empty()) << problems.front();
  EXPECT_EQ(units.at(0).ContextDir(), "common");
  EXPECT_EQ(units.at(0).DockerfilePath(), "common/Dockerfile.api");
}

TEST_F(BuildUnitsTest, ProblemsOfEveryFileAreCollected) {
  tree_.Write("a-b/build-config.yaml", "");
  tree_.Write("a-b/Dockerfile", "FROM scratch\n");
  tree_.Write("a/b/build-config.yaml", "");
  tree_.Write("a/b/Dockerfile", "FROM scratch\n");
  tree_.Write("nodocker/build-config.yaml", "dockerfile_path: build/Dockerfile\n");
  tree_.Write("nocontext/build-config.yaml", "context_path: src\n");
  tree_.Write("broken/build-config.yaml", "colour: blue\n");
  tree_.Write("broken/Dockerfile", "FROM scratch\n");
  std::vector<std::string> problems;
  Units(problems);
  EXPECT_EQ(problems,
            (std::vector<std::string>{
                "a/b/build-config.yaml: unit name 'a-b' is already the name of "
                "a-b/build-config.yaml; rename one of the directories",
                "broken/build-config.yaml:1: colour: unknown key (expected one of: "
                "additional_tags, build_args, context_path, depends_on, dockerfile_path, "
                "network, platforms, target, upstream_ref, upstream_repo)",
                "nocontext/build-config.yaml: context_path: 'src' (nocontext/src) is not a "
                "directory of the repository",
                "nodocker/build-config.yaml: dockerfile_path: 'build/Dockerfile' "
                "(nodocker/build/Dockerfile) is not a file of the repository",
            }));
}

}  // namespace
}  // namespace hephy
