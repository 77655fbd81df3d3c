// hephyd audit, against entries written with the Store.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_fixture.h"
#include "hephy/store.h"

namespace hephy {
namespace {

class AuditCliTest : public CliTest {
 protected:
  AuditCliTest() {
    std::filesystem::create_directories(data_dir());
    Store store(data_dir() / "hephy.db");
    store.Migrate();
    store.Audit({"cli", "users.add", "alice", "admin", ""});
    store.Audit({"alice", "push", "web",
                 "key SHA256:abc; refs/heads/main 0000000..1a2b3c4; accepted", "127.0.0.1:53422"});
    store.Audit({"alice", "push", "web", "key SHA256:abc; denied: no", "127.0.0.1:53423"});
    SQLite::Database db((data_dir() / "hephy.db").string(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE audit_log SET at = '2025-10-13T09:00:00.000Z' WHERE id = 1");
    db.exec("UPDATE audit_log SET at = '2025-10-14T10:00:00.250Z' WHERE id = 2");
    db.exec("UPDATE audit_log SET at = '2025-10-15T11:30:00.000Z' WHERE id = 3");
  }
};

TEST_F(AuditCliTest, TableIsOldestFirst) {
  const Outcome r = Run({"audit"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      R"(AT                   ACTOR  ACTION     TARGET  DETAIL                                                      REMOTE
2025-10-13 09:00:00  cli    users.add  alice   admin                                                       -
2025-10-14 10:00:00  alice  push       web     key SHA256:abc; refs/heads/main 0000000..1a2b3c4; accepted  127.0.0.1:53422
2025-10-15 11:30:00  alice  push       web     key SHA256:abc; denied: no                                  127.0.0.1:53423
)");
}

TEST_F(AuditCliTest, JsonSinceAndLimit) {
  Outcome r = Run({"audit", "--json", "--since", "2025-10-14"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto json = nlohmann::json::parse(r.out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0], nlohmann::json(
                         {{"id", 2},
                          {"at", "2025-10-14 10:00:00"},
                          {"actor", "alice"},
                          {"action", "push"},
                          {"target", "web"},
                          {"detail", "key SHA256:abc; refs/heads/main 0000000..1a2b3c4; accepted"},
                          {"remote", "127.0.0.1:53422"}}));

  json = nlohmann::json::parse(Run({"audit", "--json", "--since=2025-10-14T10:00:00.5Z"}).out);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["id"], 3);

  json = nlohmann::json::parse(Run({"audit", "--json", "--limit", "2"}).out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["id"], 2);
  EXPECT_TRUE(nlohmann::json::parse(Run({"audit", "--json"}).out)[0]["remote"].is_null());

  // Every entry is older than a day ago.
  EXPECT_EQ(Run({"audit", "--json", "--since", "24h"}).out, "[]\n");
}

TEST_F(AuditCliTest, BadSinceIsAUsageErrorNamingIt) {
  const Outcome r = Run({"audit", "--since", "last tuesday"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "hephyd audit: --since: expected an RFC 3339 time (2025-10-14T10:00:00Z), a date "
            "(2025-10-14) or a duration back from now (24h, 7d, 1h30m), got 'last tuesday'\n"
            "usage: hephyd audit [--since WHEN] [--limit N] [--json]\n");
  EXPECT_EQ(Run({"audit", "--limit", "0"}).code, 2);
  EXPECT_EQ(Run({"audit", "extra"}).code, 2);
}

TEST_F(AuditCliTest, HasHelp) {
  const Outcome r = Run({"audit", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: hephyd audit [--since WHEN] [--limit N] [--json]"),
            std::string::npos);
  EXPECT_NE(Run({"--help"}).out.find("audit [--since WHEN]"), std::string::npos);
}

}  // namespace
}  // namespace hephy
