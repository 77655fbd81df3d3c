#include "build/build_scheduler.h"

#include <gtest/gtest.h>

#include <future>

namespace hephy {
namespace {

TEST(BuildScheduler, ASecondBuildOfTheSameAppWaitsForTheFirst) {
  BuildScheduler scheduler(4);
  std::stop_source never;
  auto first = scheduler.AcquireApp("web", never.get_token(), [] { FAIL() << "no need to wait"; });
  ASSERT_TRUE(first);
  // Another app does not wait.
  EXPECT_TRUE(scheduler.AcquireApp("api", never.get_token(), [] { FAIL(); }));

  std::promise<void> waiting;
  auto second = std::async(std::launch::async, [&] {
    return scheduler.AcquireApp("web", never.get_token(), [&] { waiting.set_value(); }).has_value();
  });
  waiting.get_future().wait();
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  first.reset();
  EXPECT_TRUE(second.get());
}

TEST(BuildScheduler, AWaitEndsWhenItsPusherLeaves) {
  BuildScheduler scheduler(1);
  std::stop_source never, pusher;
  auto held = scheduler.AcquireApp("web", never.get_token(), [] {});
  auto slot = scheduler.AcquireJobSlot(never.get_token());
  ASSERT_TRUE(slot);

  std::promise<void> waiting;
  auto app = std::async(std::launch::async, [&] {
    return scheduler.AcquireApp("web", pusher.get_token(), [&] { waiting.set_value(); });
  });
  waiting.get_future().wait();
  pusher.request_stop();
  EXPECT_FALSE(app.get());
  EXPECT_FALSE(scheduler.AcquireJobSlot(pusher.get_token()));
}

TEST(BuildScheduler, JobSlotsAreBoundedAndReturned) {
  BuildScheduler scheduler(2);
  std::stop_source never;
  auto a = scheduler.AcquireJobSlot(never.get_token());
  auto b = scheduler.AcquireJobSlot(never.get_token());
  ASSERT_TRUE(a && b);
  auto third = std::async(std::launch::async,
                          [&] { return scheduler.AcquireJobSlot(never.get_token()).has_value(); });
  EXPECT_EQ(third.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  a.reset();
  EXPECT_TRUE(third.get());
}

TEST(BuildScheduler, EmulatedJobsNeverHoldTheSlotsNativeJobsNeed) {
  BuildScheduler scheduler(4);
  std::stop_source never;
  auto a = scheduler.AcquireJobSlot(never.get_token(), true);
  auto b = scheduler.AcquireJobSlot(never.get_token(), true);
  ASSERT_TRUE(a && b);
  // Half the slots are the emulated jobs' share: a third waits...
  auto third = std::async(std::launch::async, [&] {
    return scheduler.AcquireJobSlot(never.get_token(), true).has_value();
  });
  EXPECT_EQ(third.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  // ...while native jobs take the rest at once.
  auto native = scheduler.AcquireJobSlot(never.get_token());
  EXPECT_TRUE(native);
  a.reset();
  EXPECT_TRUE(third.get());
}

TEST(BuildScheduler, OneSlotServesEmulatedJobsToo) {
  BuildScheduler scheduler(1);
  std::stop_source never;
  EXPECT_TRUE(scheduler.AcquireJobSlot(never.get_token(), true));
}

TEST(BuildScheduler, AHoldWaitsForRunningBuildsAndHoldsNewOnesOff) {
  BuildScheduler scheduler(4);
  std::stop_source never;
  auto running = scheduler.AcquireApp("web", never.get_token(), [] {});
  auto hold =
      std::async(std::launch::async, [&] { return scheduler.HoldBuilds(never.get_token(), {}); });
  EXPECT_EQ(hold.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  running.reset();
  auto held = hold.get();
  ASSERT_TRUE(held);

  // A new build, of any app, waits until the hold ends.
  auto next = std::async(std::launch::async, [&] {
    return scheduler.AcquireApp("api", never.get_token(), [] {}).has_value();
  });
  EXPECT_EQ(next.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  held.reset();
  EXPECT_TRUE(next.get());
}

TEST(BuildScheduler, APatientHoldLetsNewBuildsStartUntilNoneRuns) {
  BuildScheduler scheduler(4);
  std::stop_source never;
  auto running = scheduler.AcquireApp("web", never.get_token(), [] {});
  auto hold = std::async(std::launch::async, [&] {
    return scheduler.HoldBuilds(never.get_token(), std::chrono::hours(1));
  });
  // While it waits patiently, another build starts at once.
  auto other = scheduler.AcquireApp("api", never.get_token(), [] { FAIL(); });
  ASSERT_TRUE(other);
  running.reset();
  EXPECT_EQ(hold.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  other.reset();
  EXPECT_TRUE(hold.get());
}

TEST(BuildScheduler, AHoldThatStopsWaitingLetsBuildsStart) {
  BuildScheduler scheduler(4);
  std::stop_source never, stop;
  auto running = scheduler.AcquireApp("web", never.get_token(), [] {});
  auto hold =
      std::async(std::launch::async, [&] { return scheduler.HoldBuilds(stop.get_token(), {}); });
  EXPECT_EQ(hold.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  stop.request_stop();
  EXPECT_FALSE(hold.get());
  EXPECT_TRUE(scheduler.AcquireApp("api", never.get_token(), [] { FAIL(); }));
}

}  // namespace
}  // namespace hephy
