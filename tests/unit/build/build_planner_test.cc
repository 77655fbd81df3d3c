#include "build/build_planner.h"

#include <gtest/gtest.h>

#include "hephy/config.h"
#include "test_dir.h"
#include "work_tree.h"

namespace hephy {
namespace {

class BuildPlannerTest : public ::testing::Test {
 protected:
  BuildPlannerTest() {
    config_.data_dir = dir_.path() / "data";
    config_.registry.url = "127.0.0.1:5000";
    config_.registry.repository = "tools";
  }

  // Plans the push of `commit` onto main at `old` (zeros: a new branch).
  Plan PlanPush(const std::string& commit, const std::string& old = std::string(40, '0'),
                const PushOptions& options = {}) {
    UpstreamCache upstreams(config_.UpstreamsDir(), config_.upstreams);
    const BuildPlanner planner(config_, upstreams);
    PlanRequest request{.repo = tree_.git_dir(),
                        .options = options,
                        .build = {.app = "web",
                                  .ref = "refs/heads/main",
                                  .old_sha = old,
                                  .new_sha = commit,
                                  .pusher = "alice"}};
    return planner.Make(request, [this](const std::string& line) { said_ += line + "\n"; });
  }

  static std::vector<std::string> Units(const Plan& plan) {
    std::vector<std::string> units;
    for (const auto& build : plan.builds) units.push_back(build.build.unit);
    return units;
  }

  void Unit(const std::string& dir, const std::string& config,
            const std::string& dockerfile = "FROM scratch\nCOPY . /\n") {
    tree_.Write(dir + "/build-config.yaml", config);
    tree_.Write(dir + "/Dockerfile", dockerfile);
  }

  TestDir dir_;
  WorkTree tree_{dir_.path() / "work"};
  Config config_;
  std::string said_;
};

TEST_F(BuildPlannerTest, EachBuildGetsItsContextDockerfileArgsAndTags) {
  Unit("api", "target: runtime\nbuild_args: [MODE=prod]\nadditional_tags: [edge]\n",
       "FROM scratch AS runtime\nARG SOURCE_DATE_EPOCH\nCOPY . /\n");
  tree_.Write("common/Dockerfile.web", "FROM scratch\n");
  tree_.Write("web/build-config.yaml",
              "context_path: ../common\ndockerfile_path: Dockerfile.web\n"
              "platforms: [linux/arm64]\n");
  tree_.SetCommitterDate("@1795594200 +0000");
  const std::string commit = tree_.Commit();
  const Plan plan = PlanPush(commit);
  ASSERT_TRUE(plan.problems.empty()) << plan.problems.front();
  ASSERT_EQ(Units(plan), (std::vector<std::string>{"api", "web"}));

  const BuildPlan& api = plan.builds[0];
  EXPECT_EQ(api.context.commit, commit);
  EXPECT_EQ(api.context.dir, "api");
  EXPECT_EQ(api.dockerfile, "Dockerfile");
  EXPECT_EQ(api.target, "runtime");
  // SOURCE_DATE_EPOCH, which it declares, is the pushed commit's time.
  EXPECT_EQ(api.build_args,
            (std::vector<std::string>{"MODE=prod", "SOURCE_DATE_EPOCH=1795594200"}));
  EXPECT_EQ(api.additional_tags, std::vector<std::string>{"edge"});
  EXPECT_EQ(api.build.platforms, config_.builder.platforms);
  EXPECT_EQ(api.build.triggered_by, "push");
  EXPECT_TRUE(api.build.source_sha.empty());

  const BuildPlan& web = plan.builds[1];
  EXPECT_EQ(web.context.dir, "common");
  EXPECT_EQ(web.dockerfile, "Dockerfile.web");
  EXPECT_EQ(web.build.platforms, std::vector<std::string>{"linux/arm64"});
  // Its Dockerfile declares no SOURCE_DATE_EPOCH: buildah would warn of it.
  EXPECT_TRUE(web.build_args.empty());
}

TEST_F(BuildPlannerTest, AGivenSourceDateEpochIsKept) {
  Unit("api", "build_args: [SOURCE_DATE_EPOCH=0]\n");
  const Plan plan = PlanPush(tree_.Commit());
  ASSERT_EQ(plan.builds.size(), 1u);
  EXPECT_EQ(plan.builds[0].build_args, std::vector<std::string>{"SOURCE_DATE_EPOCH=0"});
}

TEST_F(BuildPlannerTest, DependentsWaitForTheirBaseAndPinItsImages) {
  Unit("base", "");
  Unit("app", "", "FROM 127.0.0.1:5000/tools:base-latest AS build\nFROM build\n");
  Unit("other", "", "FROM 127.0.0.1:5000/elsewhere:base-latest\n");
  const Plan plan = PlanPush(tree_.Commit());
  ASSERT_TRUE(plan.problems.empty()) << plan.problems.front();
  // Tree order is app, base, other; base must come before app.
  EXPECT_EQ(Units(plan), (std::vector<std::string>{"base", "app", "other"}));
  const auto& waits = plan.builds[1].waits_for;
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits.at("base"), std::vector<std::string>{"127.0.0.1:5000/tools:base-latest"});
  EXPECT_TRUE(plan.builds[2].waits_for.empty());
}

TEST_F(BuildPlannerTest, AChangedBaseRebuildsItsDependentsToo) {
  Unit("base", "");
  Unit("app", "", "FROM 127.0.0.1:5000/tools:base-latest\n");
  Unit("side", "depends_on: [app]\n");
  Unit("lone", "");
  const std::string first = tree_.Commit();
  tree_.Write("base/new.txt", "x\n");
  const Plan plan = PlanPush(tree_.Commit(), first);
  ASSERT_TRUE(plan.problems.empty()) << plan.problems.front();
  EXPECT_EQ(Units(plan), (std::vector<std::string>{"base", "app", "side"}));
}

TEST_F(BuildPlannerTest, AUnitFromItsOwnEarlierImageWaitsForNothing) {
  Unit("base", "", "FROM 127.0.0.1:5000/tools:base-latest\nCOPY . /\n");
  const Plan plan = PlanPush(tree_.Commit());
  ASSERT_TRUE(plan.problems.empty()) << plan.problems.front();
  ASSERT_EQ(plan.builds.size(), 1u);
  EXPECT_TRUE(plan.builds[0].waits_for.empty());
}

TEST_F(BuildPlannerTest, PlatformOptionNarrowsAndSkipsUnitsWithoutThem) {
  Unit("linux", "");
  Unit("wasm", "platforms: [wasi/wasm]\n");
  PushOptions options;
  options.only_platforms = {"linux/amd64"};
  const Plan plan = PlanPush(tree_.Commit(), std::string(40, '0'), options);
  ASSERT_EQ(Units(plan), std::vector<std::string>{"linux"});
  EXPECT_EQ(plan.builds[0].build.platforms, std::vector<std::string>{"linux/amd64"});
  EXPECT_NE(said_.find("hephy: wasm skipped: it builds for none of linux/amd64 (-o platforms)"),
            std::string::npos)
      << said_;
}

TEST_F(BuildPlannerTest, NothingChangedPlansNothingAndSaysSo) {
  Unit("api", "");
  const std::string first = tree_.Commit();
  tree_.Write("README.md", "docs\n");
  const Plan plan = PlanPush(tree_.Commit(), first);
  EXPECT_TRUE(plan.problems.empty());
  EXPECT_TRUE(plan.builds.empty());
  EXPECT_NE(said_.find("no unit changed on main"), std::string::npos) << said_;
}

TEST_F(BuildPlannerTest, EveryProblemIsListedAndNothingIsPlanned) {
  Unit("a", "depends_on: [b]\n");
  Unit("b", "depends_on: [a]\n");
  Unit("c", "depends_on: [ghost]\n");
  const Plan plan = PlanPush(tree_.Commit());
  EXPECT_TRUE(plan.builds.empty());
  ASSERT_EQ(plan.problems.size(), 2u);
  EXPECT_NE(plan.problems[0].find("'ghost', which is not a unit"), std::string::npos)
      << plan.problems[0];
  EXPECT_NE(plan.problems[1].find("cycle: a -> b -> a"), std::string::npos) << plan.problems[1];
}

TEST_F(BuildPlannerTest, ALocalUpstreamIsRefusedUnlessAllowed) {
  tree_.Write("kaniko/build-config.yaml", "upstream_repo: file:///srv/kaniko\nupstream_ref: v1\n");
  const Plan plan = PlanPush(tree_.Commit());
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_NE(plan.problems[0].find("kaniko/build-config.yaml: upstream_repo: file:///srv/kaniko: "
                                  "local upstream repositories are not allowed"),
            std::string::npos)
      << plan.problems[0];
}

}  // namespace
}  // namespace hephy
