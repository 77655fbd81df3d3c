#include "build/daily_prune.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace hephy {
namespace {

using std::chrono::system_clock;

TEST(DailyPrune, RunsAtTheFirstTimeThenEveryInterval) {
  std::atomic<int> runs = 0;
  std::promise<void> third;
  {
    const DailyPrune daily(
        [&](std::stop_token) {
          if (++runs == 3) third.set_value();
        },
        system_clock::now(), std::chrono::milliseconds(10));
    ASSERT_EQ(third.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  EXPECT_GE(runs.load(), 3);
}

TEST(DailyPrune, StopsAtOnceWhileWaiting) {
  std::atomic<int> runs = 0;
  const auto started = std::chrono::steady_clock::now();
  {
    const DailyPrune daily([&](std::stop_token) { ++runs; },
                           system_clock::now() + std::chrono::hours(1), std::chrono::hours(24));
  }
  EXPECT_EQ(runs.load(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(DailyPrune, AsksARunningPruneToStop) {
  std::promise<void> running;
  std::atomic<bool> saw_stop = false;
  {
    const DailyPrune daily(
        [&](std::stop_token stop) {
          running.set_value();
          std::mutex mutex;
          std::condition_variable_any wake;
          std::unique_lock lock(mutex);
          wake.wait(lock, stop, [] { return false; });
          saw_stop = stop.stop_requested();
        },
        system_clock::now(), std::chrono::hours(24));
    running.get_future().wait();
  }
  EXPECT_TRUE(saw_stop);
}

}  // namespace
}  // namespace hephy
