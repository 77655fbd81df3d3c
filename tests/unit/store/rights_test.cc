#include "store/rights.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include "hephy/ssh_key.h"
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
      "no app 'x'");  // as if it did not exist
  EXPECT_EQ(
      ErrorOf([] { RequireAccess(AppAccess::kWrite, AppAccess::kOwner, "bob", "manage", "web"); }),
      "bob may not manage app 'web' (write access)");
}

TEST_F(RightsTest, AnAppWithoutOwnerIsForAdminsOnly) {
  const App orphan = store_.CreateApp("orphan", std::nullopt);
  EXPECT_EQ(AccessOf(store_, orphan, alice_), AppAccess::kNone);
  EXPECT_EQ(AccessOf(store_, orphan, admin_), AppAccess::kOwner);
}

TEST_F(RightsTest, MembersHaveTheirAccessWhichCanChangeAndGo) {
  store_.SetMember("web", "bob", "read");
  EXPECT_EQ(AccessOf(store_, app_, bob_), AppAccess::kRead);
  store_.SetMember("web", "bob", "write");
  EXPECT_EQ(AccessOf(store_, app_, bob_), AppAccess::kWrite);
  EXPECT_EQ(store_.ListMembers("web").size(), 1u);
  EXPECT_TRUE(store_.RemoveMember("web", "bob"));
  EXPECT_FALSE(store_.RemoveMember("web", "bob"));
  EXPECT_EQ(AccessOf(store_, app_, bob_), AppAccess::kNone);
  EXPECT_EQ(ErrorOf([&] { store_.SetMember("web", "bob", "admin"); }),
            "invalid access 'admin' (expected read or write)");
  EXPECT_EQ(ErrorOf([&] { store_.SetMember("nope", "bob", "read"); }), "no app 'nope'");
}

TEST_F(RightsTest, DeletingAnAppTakesItsMembersAndDeployKeysAlong) {
  store_.SetMember("web", "bob", "read");
  const PublicKey key = ParsePublicKeyLine(
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci",
      "test");
  store_.AddDeployKeys("web", {key}, "write", "alice");
  ASSERT_TRUE(store_.FindDeployKey(key.fingerprint));
  store_.DeleteApp("web");
  EXPECT_FALSE(store_.FindApp("web"));
  EXPECT_FALSE(store_.FindDeployKey(key.fingerprint));
  // The name is free again, and nothing of the old app comes back with it.
  store_.CreateApp("web", "carol");
  EXPECT_TRUE(store_.ListMembers("web").empty());
  EXPECT_EQ(ErrorOf([&] { store_.DeleteApp("gone"); }), "no app 'gone'");
}

TEST_F(RightsTest, AKeyIsAUsersOrADeployKeyNeverBoth) {
  const PublicKey key = ParsePublicKeyLine(
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x", "test");
  store_.AddKeys("bob", {key});
  EXPECT_EQ(ErrorOf([&] { store_.AddDeployKeys("web", {key}, "read", "alice"); }),
            "key " + key.fingerprint + " is already registered to user 'bob'");
  store_.RemoveKey(key.fingerprint);
  store_.AddDeployKeys("web", {key}, "read", "alice");
  EXPECT_EQ(ErrorOf([&] { store_.AddKeys("bob", {key}); }),
            "key " + key.fingerprint + " is already a deploy key of app 'web'");
  EXPECT_EQ(ErrorOf([&] { store_.AddDeployKeys("web", {key}, "read", "alice"); }),
            "key " + key.fingerprint + " is already a deploy key of app 'web'");
  store_.RemoveKey(key.fingerprint);
  EXPECT_FALSE(store_.FindDeployKey(key.fingerprint));
}

}  // namespace
}  // namespace hephy
