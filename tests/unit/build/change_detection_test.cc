#include "build/change_detection.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "git/quarantine_repo.h"
#include "hephy/error.h"
#include "test_dir.h"
#include "work_tree.h"

namespace hephy {
namespace {

BuildUnit InTree(const std::string& dir, const std::string& context = ".",
                 const std::string& dockerfile = "Dockerfile") {
  BuildUnit unit{.name = dir, .dir = dir, .config = {}};
  unit.config.context_path = context;
  unit.config.dockerfile_path = dockerfile;
  return unit;
}

class ChangedPathsTest : public ::testing::Test {
 protected:
  ChangedPathsTest() {
    tree_.Write("web/Dockerfile", "FROM scratch\n");
    tree_.Write("web/app/main.c", "int main() {}\n");
    tree_.Write("api/Dockerfile", "FROM scratch\n");
    first_ = tree_.Commit();
  }

  std::vector<std::string> Changes() {
    const std::string second = tree_.Commit();
    const QuarantineRepo repo(tree_.git_dir(), {});
    auto paths = ChangedPaths(repo.get(), first_, second);
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  TestDir dir_;
  WorkTree tree_{dir_.path() / "work"};
  std::string first_;
};

TEST_F(ChangedPathsTest, ListsModifiedAddedAndDeletedFiles) {
  tree_.Write("web/app/main.c", "int main() { return 1; }\n");
  tree_.Write("docs/new.md", "new\n");
  tree_.Remove("api/Dockerfile");
  EXPECT_EQ(Changes(),
            (std::vector<std::string>{"api/Dockerfile", "docs/new.md", "web/app/main.c"}));
}

TEST_F(ChangedPathsTest, ARenameChangesBothPlaces) {
  tree_.Git({"mv", "web/app/main.c", "api/main.c"});
  EXPECT_EQ(Changes(), (std::vector<std::string>{"api/main.c", "web/app/main.c"}));
}

TEST_F(ChangedPathsTest, NothingChangedIsEmpty) { EXPECT_TRUE(Changes().empty()); }

TEST_F(ChangedPathsTest, AnUnknownCommitIsAnError) {
  const QuarantineRepo repo(tree_.git_dir(), {});
  EXPECT_THROW(ChangedPaths(repo.get(), first_, std::string(40, 'a')), Error);
}

TEST(UnitChanged, APathUnderTheUnitDirectoryChangesIt) {
  EXPECT_TRUE(UnitChanged(InTree("web"), {"web/app/main.c"}));
  EXPECT_TRUE(UnitChanged(InTree("web"), {"web/build-config.yaml"}));
  EXPECT_FALSE(UnitChanged(InTree("web"), {"webapp/main.c", "api/web/x", "README"}));
}

TEST(UnitChanged, NestedUnitsChangeOnlyWithTheirOwnFiles) {
  EXPECT_TRUE(UnitChanged(InTree("tools/kaniko"), {"tools/kaniko/Dockerfile"}));
  EXPECT_FALSE(UnitChanged(InTree("tools/kaniko"), {"tools/buildah/Dockerfile"}));
  // The parent unit's directory holds the nested one: a nested change is its change too.
  EXPECT_TRUE(UnitChanged(InTree("tools"), {"tools/kaniko/Dockerfile"}));
}

TEST(UnitChanged, AContextOutsideTheUnitDirectoryCounts) {
  const BuildUnit api = InTree("services/api", "../../common", "api/Dockerfile");
  EXPECT_TRUE(UnitChanged(api, {"common/lib/util.c"}));
  EXPECT_TRUE(UnitChanged(api, {"common/api/Dockerfile"}));
  EXPECT_FALSE(UnitChanged(api, {"commonplace/x", "services/web/x"}));
}

TEST(UnitChanged, AnUpstreamUnitChangesOnlyWithItsDirectory) {
  BuildUnit kaniko = InTree("kaniko");
  kaniko.config.upstream_repo = "https://example.invalid/kaniko";
  kaniko.config.upstream_ref = "v1";
  EXPECT_TRUE(UnitChanged(kaniko, {"kaniko/build-config.yaml"}));
  EXPECT_FALSE(UnitChanged(kaniko, {"Dockerfile", "README"}));
}

TEST(UnitChanged, TheImplicitUnitChangesWithAnything) {
  const BuildUnit app{.name = "web", .dir = "", .config = {}, .implicit = true};
  EXPECT_TRUE(UnitChanged(app, {"docs/README"}));
  EXPECT_FALSE(UnitChanged(app, {}));
}

}  // namespace
}  // namespace hephy
