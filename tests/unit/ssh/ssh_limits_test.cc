// SessionLimits and AuthThrottle: the SSH front's limits, without sockets.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "ssh/auth_throttle.h"
#include "ssh/session_limits.h"

namespace hephy {
namespace {

using namespace std::chrono_literals;
using Clock = AuthThrottle::Clock;

TEST(SessionLimits, HandshakesAndSessionsAreCountedApart) {
  SshConfig config;
  config.max_startups = 2;
  config.max_sessions = 1;
  SessionLimits limits(config);
  auto a = limits.StartHandshake("192.0.2.1");
  auto b = limits.StartHandshake("192.0.2.2");
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(limits.StartHandshake("192.0.2.3"));
  // a authenticates: its handshake place goes to the next connection.
  auto session = limits.StartSession();
  EXPECT_TRUE(session);
  a = {};
  EXPECT_TRUE(limits.StartHandshake("192.0.2.3"));
  EXPECT_FALSE(limits.StartSession());
  session = {};
  EXPECT_TRUE(limits.StartSession());
}

TEST(SessionLimits, OneAddressCannotHoldEveryHandshakePlace) {
  SshConfig config;
  config.max_startups = 4;
  config.max_startups_per_address = 2;
  SessionLimits limits(config);
  bool per_address = false;
  auto a = limits.StartHandshake("192.0.2.1", &per_address);
  auto b = limits.StartHandshake("192.0.2.1", &per_address);
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(per_address);
  EXPECT_FALSE(limits.StartHandshake("192.0.2.1", &per_address));
  EXPECT_TRUE(per_address);
  // Others still get in, up to max_startups.
  auto c = limits.StartHandshake("192.0.2.2", &per_address);
  auto d = limits.StartHandshake("2001:db8::1", &per_address);
  EXPECT_TRUE(c && d);
  EXPECT_FALSE(limits.StartHandshake("192.0.2.3", &per_address));
  EXPECT_FALSE(per_address);  // refused by max_startups, not by its address
  a = {};
  EXPECT_TRUE(limits.StartHandshake("192.0.2.1"));
}

TEST(SessionLimits, PushesAreCountedPerUser) {
  SshConfig config;
  config.max_pushes_per_user = 2;
  SessionLimits limits(config);
  auto first = limits.StartPush("alice");
  const auto copy = first;  // copies share the place
  auto second = limits.StartPush("alice");
  EXPECT_TRUE(first && second);
  EXPECT_FALSE(limits.StartPush("alice"));
  EXPECT_TRUE(limits.StartPush("bob"));
  first = {};
  EXPECT_FALSE(limits.StartPush("alice"));  // `copy` still holds it
}

TEST(SessionLimits, ZeroPushesPerUserMeansNoLimit) {
  SshConfig config;
  config.max_pushes_per_user = 0;
  SessionLimits limits(config);
  std::vector<SessionLimits::Slot> slots;
  for (int i = 0; i < 100; ++i) slots.push_back(limits.StartPush("alice"));
  EXPECT_TRUE(slots.back());
}

TEST(SessionLimits, ManyThreadsNeverExceedTheLimit) {
  SshConfig config;
  config.max_sessions = 3;
  SessionLimits limits(config);
  std::atomic<int> held = 0, most = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const auto slot = limits.StartSession();
        if (!slot) continue;
        const int now = ++held;
        int seen = most;
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --held;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most, 3);
  EXPECT_TRUE(limits.StartSession());
}

AuthFailuresConfig Failures(int limit) { return {limit, 60s, 300s}; }

TEST(AuthThrottle, BlocksAnAddressAfterLimitFailuresWithinTheWindow) {
  AuthThrottle throttle(Failures(3));
  const auto t0 = Clock::now();
  EXPECT_FALSE(throttle.Failed("10.0.0.1", t0));
  EXPECT_FALSE(throttle.Failed("10.0.0.1", t0 + 10s));
  EXPECT_FALSE(throttle.BlockedUntil("10.0.0.1", t0 + 10s));
  EXPECT_TRUE(throttle.Failed("10.0.0.1", t0 + 20s));
  EXPECT_EQ(throttle.BlockedUntil("10.0.0.1", t0 + 21s), t0 + 320s);
  EXPECT_FALSE(throttle.BlockedUntil("10.0.0.2", t0 + 21s));  // others are not
  // Failures of connections accepted before the block do not extend it.
  EXPECT_FALSE(throttle.Failed("10.0.0.1", t0 + 22s));
  EXPECT_EQ(throttle.BlockedUntil("10.0.0.1", t0 + 22s), t0 + 320s);
  // When the block ends, the count starts again.
  EXPECT_FALSE(throttle.BlockedUntil("10.0.0.1", t0 + 320s));
  EXPECT_FALSE(throttle.Failed("10.0.0.1", t0 + 321s));
}

TEST(AuthThrottle, FailuresOlderThanTheWindowDoNotCount) {
  AuthThrottle throttle(Failures(3));
  const auto t0 = Clock::now();
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(throttle.Failed("10.0.0.1", t0 + i * 31s)) << i;  // two per minute
  }
}

TEST(AuthThrottle, ZeroLimitNeverBlocks) {
  AuthThrottle throttle(Failures(0));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(throttle.Failed("10.0.0.1", Clock::now()));
  EXPECT_EQ(throttle.Size(), 0u);
}

TEST(AuthThrottle, MemoryIsBoundedAndBlockedAddressesAreKeptLongest) {
  AuthThrottle throttle(Failures(2), 4);
  const auto t0 = Clock::now();
  throttle.Failed("blocked", t0);
  ASSERT_TRUE(throttle.Failed("blocked", t0));
  for (int i = 0; i < 100; ++i) throttle.Failed("10.1.0." + std::to_string(i), t0 + i * 1s);
  EXPECT_LE(throttle.Size(), 4u);
  EXPECT_TRUE(throttle.BlockedUntil("blocked", t0 + 100s));
  // Entries that no longer matter go first.
  throttle.Failed("late", t0 + 1h);
  EXPECT_EQ(throttle.Size(), 1u);
}

}  // namespace
}  // namespace hephy
