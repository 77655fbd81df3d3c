#include "hephy/store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "hephy/error.h"
#include "test_dir.h"

namespace hephy {
namespace {

PublicKey Key(const std::string& fingerprint) {
  return PublicKey{"ssh-ed25519", "AAAA", "c", fingerprint, 256};
}

std::vector<PublicKey> Keys(std::initializer_list<const char*> fingerprints) {
  std::vector<PublicKey> keys;
  for (const char* f : fingerprints) keys.push_back(Key(f));
  return keys;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : store_(dir_.path() / "hephy.db") { store_.Migrate(); }
  TestDir dir_;
  Store store_;
};

TEST_F(StoreTest, UsersAreAddedListedAndRemoved) {
  store_.AddUser("bob", false);
  store_.AddUser("alice", true);
  const auto users = store_.ListUsers();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_TRUE(users[0].admin);
  EXPECT_FALSE(users[1].admin);
  store_.RemoveUser("bob");
  EXPECT_FALSE(store_.FindUser("bob"));
  EXPECT_THROW(store_.RemoveUser("bob"), Error);
}

TEST_F(StoreTest, DuplicateAndInvalidUsersAreRefused) {
  store_.AddUser("alice", false);
  EXPECT_THROW(store_.AddUser("alice", true), Error);
  EXPECT_THROW(store_.AddUser("Robert'); DROP TABLE users;--", false), Error);
  EXPECT_EQ(store_.ListUsers().size(), 1u);
}

TEST_F(StoreTest, AKeyBelongsToOneUserOnly) {
  store_.AddUser("alice", false);
  store_.AddUser("bob", false);
  store_.AddKeys("alice", Keys({"SHA256:one"}));
  try {
    store_.AddKeys("bob", Keys({"SHA256:one"}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "key SHA256:one is already registered to another user ('alice')");
  }
  EXPECT_EQ(store_.FindUserByKey("SHA256:one")->name, "alice");
  EXPECT_FALSE(store_.FindUserByKey("SHA256:two"));
}

TEST_F(StoreTest, RemovingAUserRemovesTheirKeys) {
  store_.AddUser("alice", false);
  store_.AddKeys("alice", Keys({"SHA256:one"}));
  store_.RemoveUser("alice");
  EXPECT_FALSE(store_.FindUserByKey("SHA256:one"));
  EXPECT_TRUE(store_.ListKeys(std::nullopt).empty());
}

TEST_F(StoreTest, KeysAreListedPerUserAndRemovedByFingerprint) {
  store_.AddUser("alice", false);
  store_.AddUser("bob", false);
  store_.AddKeys("alice", Keys({"SHA256:a"}));
  store_.AddKeys("bob", Keys({"SHA256:b"}));
  EXPECT_EQ(store_.ListKeys(std::nullopt).size(), 2u);
  ASSERT_EQ(store_.ListKeys("bob").size(), 1u);
  EXPECT_EQ(store_.ListKeys("bob")[0].key.fingerprint, "SHA256:b");
  EXPECT_THROW(store_.ListKeys("carol"), Error);
  store_.RemoveKey("SHA256:a");
  EXPECT_FALSE(store_.FindUserByKey("SHA256:a"));
  EXPECT_THROW(store_.RemoveKey("SHA256:a"), Error);
}

TEST_F(StoreTest, AppsHaveOptionalOwnersAndUniqueNames) {
  store_.AddUser("alice", false);
  store_.CreateApp("web", "alice");
  store_.CreateApp("infra", std::nullopt);
  EXPECT_THROW(store_.CreateApp("web", std::nullopt), Error);
  EXPECT_THROW(store_.CreateApp("api", "nobody"), Error);
  EXPECT_THROW(store_.CreateApp("../x", std::nullopt), Error);
  const auto apps = store_.ListApps();
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].name, "infra");
  EXPECT_FALSE(apps[0].owner);
  EXPECT_EQ(apps[1].owner, "alice");
}

TEST_F(StoreTest, AppsOfARemovedUserAreLeftToAdmins) {
  store_.AddUser("alice", false);
  store_.CreateApp("web", "alice");
  EXPECT_EQ(store_.RemoveUser("alice"), std::vector<std::string>{"web"});
  ASSERT_TRUE(store_.FindApp("web"));
  EXPECT_FALSE(store_.FindApp("web")->owner);
}

TEST_F(StoreTest, KeysAreAddedAllOrNone) {
  store_.AddUser("alice", false);
  store_.AddUser("bob", false);
  store_.AddKeys("bob", Keys({"SHA256:b"}));
  EXPECT_THROW(store_.AddKeys("alice", Keys({"SHA256:a", "SHA256:b"})), Error);
  EXPECT_THROW(store_.AddKeys("alice", Keys({"SHA256:a", "SHA256:c", "SHA256:a"})), Error);
  EXPECT_TRUE(store_.ListKeys("alice").empty());
  store_.AddKeys("alice", Keys({"SHA256:a", "SHA256:c"}));
  EXPECT_EQ(store_.ListKeys("alice").size(), 2u);
}

TEST_F(StoreTest, AuditEntriesAreKeptInOrder) {
  store_.Audit({"cli", "users.add", "alice", "", ""});
  store_.Audit({"alice", "push", "web", "main ok", "127.0.0.1:1234"});
  const auto entries = store_.ListAudit();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].action, "push");
  EXPECT_EQ(entries[1].remote, "127.0.0.1:1234");
  EXPECT_LT(entries[0].id, entries[1].id);
  EXPECT_EQ(entries[1].at.size(), std::string("2025-10-14T10:00:00.000Z").size()) << entries[1].at;
}

TEST_F(StoreTest, AuditListGivesTheNewestSinceATime) {
  for (const char* at : {"2025-10-13T23:59:59.999Z", "2025-10-14T00:00:00.000Z",
                         "2025-10-14T10:00:00.500Z", "2025-10-15T08:00:00.000Z"}) {
    store_.Audit({"cli", "users.add", at, "", ""});
  }
  {
    SQLite::Database db((dir_.path() / "hephy.db").string(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE audit_log SET at = target");
  }
  const auto targets = [](const std::vector<AuditEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.target);
    return out;
  };
  using std::chrono::sys_days;
  const auto oct14 =
      std::chrono::system_clock::time_point(sys_days(std::chrono::year(2025) / 10 / 14));
  EXPECT_EQ(targets(store_.ListAudit(oct14)),
            (std::vector<std::string>{"2025-10-14T00:00:00.000Z", "2025-10-14T10:00:00.500Z",
                                      "2025-10-15T08:00:00.000Z"}));
  EXPECT_EQ(
      targets(store_.ListAudit(oct14 + std::chrono::hours(10) + std::chrono::milliseconds(500))),
      (std::vector<std::string>{"2025-10-14T10:00:00.500Z", "2025-10-15T08:00:00.000Z"}));
  EXPECT_EQ(targets(store_.ListAudit(std::nullopt, 2)),
            (std::vector<std::string>{"2025-10-14T10:00:00.500Z", "2025-10-15T08:00:00.000Z"}));
  EXPECT_EQ(store_.ListAudit().size(), 4u);
  EXPECT_EQ(store_.ListAudit().front().at, "2025-10-13T23:59:59.999Z");
}

TEST_F(StoreTest, SecondConnectionSeesWritesAtOnce) {
  Store other(dir_.path() / "hephy.db");
  store_.AddUser("alice", false);
  store_.AddKeys("alice", Keys({"SHA256:k"}));
  EXPECT_EQ(other.FindUserByKey("SHA256:k")->name, "alice");
}

}  // namespace
}  // namespace hephy
