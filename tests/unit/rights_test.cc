#include "rights.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include "test_dir.h"

namespace hephy {
namespace {

class RightsTest : public ::testing::Test {
 protected:
  RightsTest() : store_(dir_.path() / "hephy.db") {
    store_.Migrate();
    admin_ = store_.AddUser("root", true);
    alice_ = store_.AddUser("alice", false);
    bob_ = store_.AddUser("bob", false);
    carol_ = store_.AddUser("carol", false);
    app_ = store_.CreateApp("web", "alice");
  }

  TestDir dir_;
  Store store_;
  User admin_, alice_, bob_, carol_;
  App app_;
};

TEST_F(RightsTest, AdminsAndOwnersHaveEverythingOthersNothing) {
  EXPECT_EQ(AccessOf(store_, app_, admin_), AppAccess::kOwner);
  EXPECT_EQ(AccessOf(store_, app_, alice_), AppAccess::kOwner);
  EXPECT_EQ(AccessOf(store_, app_, bob_), AppAccess::kNone);
}

TEST_F(RightsTest, LevelsAreOrderedSoThatWriteIncludesRead) {
  EXPECT_LT(AppAccess::kNone, AppAccess::kRead);
  EXPECT_LT(AppAccess::kRead, AppAccess::kWrite);
  EXPECT_LT(AppAccess::kWrite, AppAccess::kOwner);
  EXPECT_NO_THROW(RequireAccess(AppAccess::kWrite, AppAccess::kRead, "bob", "fetch from", "web"));
  EXPECT_NO_THROW(RequireAccess(AppAccess::kOwner, AppAccess::kOwner, "bob", "manage", "web"));
}

TEST_F(RightsTest, DenialSaysWhoWhatAndWhy) {
  EXPECT_EQ(ErrorOf([] {
              RequireAccess(AppAccess::kRead, AppAccess::kWrite, "alice", "push to", "web");
            }),
            "alice may not push to app 'web' (read access)");
  EXPECT_EQ(
      ErrorOf([] { RequireAccess(AppAccess::kNone, AppAccess::kRead, "bob", "fetch from", "x"); }),
      "bob may not fetch from app 'x' (no access)");
  EXPECT_EQ(
      ErrorOf([] { RequireAccess(AppAccess::kWrite, AppAccess::kOwner, "bob", "manage", "web"); }),
      "bob may not manage app 'web' (write access)");
}

TEST_F(RightsTest, AnAppWithoutOwnerIsForAdminsOnly) {
  const App orphan = store_.CreateApp("orphan", std::nullopt);
  EXPECT_EQ(AccessOf(store_, orphan, alice_), AppAccess::kNone);
  EXPECT_EQ(AccessOf(store_, orphan, admin_), AppAccess::kOwner);
}

}  // namespace
}  // namespace hephy
