#include "git/quarantine_repo.h"

#include <gtest/gtest.h>

#include "hephy/error.h"
#include "test_dir.h"
#include "util/process.h"

namespace hephy {
namespace {

TEST(QuarantineRepo, RefusesAQuarantineOutsideTheRepository) {
  TestDir dir;
  const auto repo = dir.path() / "app.git";
  ASSERT_EQ(hephy::Run({.argv = {"git", "init", "-q", "--bare", repo.string()}}).exit_code, 0);
  std::filesystem::create_directories(repo / "objects" / "tmp_objdir-incoming-x");
  EXPECT_NO_THROW(QuarantineRepo(
      repo, {{"GIT_QUARANTINE_PATH", (repo / "objects" / "tmp_objdir-incoming-x").string()}}));
  for (const std::string& outside : std::vector<std::string>{
           dir.path().string(), (repo / "objects" / ".." / "..").string(), "/etc"}) {
    EXPECT_THROW(QuarantineRepo(repo, {{"GIT_QUARANTINE_PATH", outside}}), Error) << outside;
  }
}

TEST(QuarantineRepo, UnknownCommitIsAnError) {
  TestDir dir;
  const auto repo = dir.path() / "app.git";
  ASSERT_EQ(hephy::Run({.argv = {"git", "init", "-q", "--bare", repo.string()}}).exit_code, 0);
  const QuarantineRepo quarantine(repo, {});
  EXPECT_THROW(quarantine.HasFile(std::string(40, 'a'), "Dockerfile"), Error);
}

}  // namespace
}  // namespace hephy
