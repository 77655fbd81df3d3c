#include "push/push_audit.h"

#include <gtest/gtest.h>

#include "hephy/error.h"
#include "push/push_ledger.h"
#include "test_dir.h"
#include "work_tree.h"

namespace hephy {
namespace {

const std::string kZero(40, '0');
const std::string kA = "1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b";
const std::string kB = "5d6e7f8a9b0c5d6e7f8a9b0c5d6e7f8a9b0c5d6e";

PushAttempt Attempt(std::optional<std::vector<RefUpdate>> updates) {
  return {"alice", "SHA256:key", "web", "127.0.0.1:53422", std::move(updates)};
}

TEST(PushAudit, DetailHoldsKeyRefUpdatesAndResult) {
  const AuditEntry e = PushAuditEntry(
      Attempt({{{kZero, kA, "refs/heads/main"}, {kA, kB, "refs/heads/dev"}}}), "accepted");
  EXPECT_EQ(e.actor, "alice");
  EXPECT_EQ(e.action, "push");
  EXPECT_EQ(e.target, "web");
  EXPECT_EQ(e.remote, "127.0.0.1:53422");
  EXPECT_EQ(e.detail,
            "key SHA256:key; refs/heads/main 0000000..1a2b3c4; refs/heads/dev 1a2b3c4..5d6e7f8; "
            "accepted");
}

TEST(PushAudit, DeniedPushHasNoRefsAndLongListsAreCut) {
  EXPECT_EQ(
      PushAuditEntry(Attempt(std::nullopt), "denied: alice may not push to app 'web'\nmore").detail,
      "key SHA256:key; denied: alice may not push to app 'web'");
  std::vector<RefUpdate> many(25, RefUpdate{kZero, kA, "refs/tags/t"});
  const std::string detail = PushAuditEntry(Attempt(many), "accepted").detail;
  EXPECT_NE(detail.find("refs/tags/t 0000000..1a2b3c4; and 5 more ref updates; accepted"),
            std::string::npos)
      << detail;
}

TEST(PushAudit, ResultSaysWhoDecided) {
  EXPECT_EQ(PushResult(PushVerdict{true, ""}, {}, "exit 0"), "accepted");
  EXPECT_EQ(PushResult(PushVerdict{false, "build 2 (web) failed: boom\nmore"}, {}, "exit 0"),
            "rejected: build 2 (web) failed: boom");
  EXPECT_EQ(PushResult(PushVerdict{true, ""}, {"refs/heads/main", "refs/heads/dev"}, "exit 0"),
            "rejected: hephyd accepted it, but git did not update refs/heads/main, "
            "refs/heads/dev");
  EXPECT_EQ(PushResult(std::nullopt, {}, "client disconnected; git killed"),
            "rejected: client disconnected; git killed");
}

TEST(PushAudit, RefsNotUpdatedComparesTheRepository) {
  TestDir dir;
  WorkTree tree(dir.path() / "web");
  const std::string head = tree.Commit();
  const auto repo = tree.git_dir();
  EXPECT_EQ(RefsNotUpdated(repo, {{kZero, head, "refs/heads/main"},
                                  {kA, kZero, "refs/heads/gone"},
                                  {kZero, kA, "refs/heads/other"},
                                  {head, kA, "refs/heads/main"},
                                  {kA, kZero, "refs/heads/main"}}),
            (std::vector<std::string>{"refs/heads/other", "refs/heads/main", "refs/heads/main"}));
  EXPECT_THROW(RefsNotUpdated(dir.path() / "nope.git", {}), Error);
}

TEST(PushLedger, KeepsVerdictsOnlyForOpenPushes) {
  PushLedger ledger;
  ledger.Decide("rebuild", {true, ""});
  EXPECT_FALSE(ledger.Close("rebuild"));
  ledger.Open("p1");
  EXPECT_FALSE(ledger.Close("p1"));  // open, but no verdict yet
  ledger.Open("p2");
  ledger.Decide("p2", {false, "no"});
  const auto verdict = ledger.Close("p2");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->reason, "no");
  EXPECT_FALSE(ledger.Close("p2"));
}

}  // namespace
}  // namespace hephy
