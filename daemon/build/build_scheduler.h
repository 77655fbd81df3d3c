// What may build at once: one build per app (a second push to an app waits
// for the first), and at most builder.max_jobs platform jobs across all
// builds, of which emulated ones (RUN steps through qemu, several times
// slower) take at most half, at least one: they never hold every slot while
// native jobs wait. A hold (HoldBuilds) keeps every new build waiting
// until it ends, for maintenance that nothing may push during. Waits end early when the waiter's
// stop token fires (the pusher went away).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <utility>

namespace hephy {

class BuildScheduler {
 public:
  explicit BuildScheduler(int max_jobs)
      : free_slots_(max_jobs), free_emulated_slots_(std::max(1, max_jobs / 2)) {}
  BuildScheduler(const BuildScheduler&) = delete;
  BuildScheduler& operator=(const BuildScheduler&) = delete;

  // Held while a build of one app runs.
  class AppLease {
   public:
    AppLease(AppLease&& other) noexcept : scheduler_(std::exchange(other.scheduler_, nullptr)) {
      app_ = std::move(other.app_);
    }
    AppLease& operator=(AppLease&&) = delete;
    ~AppLease();

   private:
    friend class BuildScheduler;
    AppLease(BuildScheduler* scheduler, std::string app)
        : scheduler_(scheduler), app_(std::move(app)) {}
    BuildScheduler* scheduler_;
    std::string app_;
  };

  // Held while one platform job runs.
  class JobSlot {
   public:
    JobSlot(JobSlot&& other) noexcept
        : scheduler_(std::exchange(other.scheduler_, nullptr)), emulated_(other.emulated_) {}
    JobSlot& operator=(JobSlot&&) = delete;
    ~JobSlot();

   private:
    friend class BuildScheduler;
    JobSlot(BuildScheduler* scheduler, bool emulated)
        : scheduler_(scheduler), emulated_(emulated) {}
    BuildScheduler* scheduler_;
    bool emulated_;
  };

  // Held while no build may start: see HoldBuilds.
  class Hold {
   public:
    Hold(Hold&& other) noexcept : scheduler_(std::exchange(other.scheduler_, nullptr)) {}
    Hold& operator=(Hold&&) = delete;
    ~Hold();

   private:
    friend class BuildScheduler;
    explicit Hold(BuildScheduler* scheduler) : scheduler_(scheduler) {}
    BuildScheduler* scheduler_;
  };

  // Returns once no build runs, keeping new builds waiting in AcquireApp
  // (silently) until the hold is destroyed. For up to `patience` it waits
  // for such a moment while builds still start; after that it holds new
  // ones off at once and waits for the running ones, so that it is not
  // starved. Empty when `stop` fired first. One hold at a time.
  std::optional<Hold> HoldBuilds(std::stop_token stop,
                                 std::chrono::steady_clock::duration patience);

  // Blocks until no other build of `app` runs; `on_wait` is called once,
  // before blocking, if it has to. Empty when `stop` fired first.
  std::optional<AppLease> AcquireApp(const std::string& app, std::stop_token stop,
                                     const std::function<void()>& on_wait);
  // Blocks until a job slot is free (for an `emulated` job, one of their
  // share). Empty when `stop` fired first.
  std::optional<JobSlot> AcquireJobSlot(std::stop_token stop, bool emulated = false);

 private:
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::set<std::string> building_;
  bool held_ = false;
  int free_slots_;
  int free_emulated_slots_;
};

}  // namespace hephy
