#include "build/build_scheduler.h"

namespace hephy {

BuildScheduler::AppLease::~AppLease() {
  if (scheduler_ == nullptr) return;
  {
    std::lock_guard lock(scheduler_->mutex_);
    scheduler_->building_.erase(app_);
  }
  scheduler_->changed_.notify_all();
}

BuildScheduler::JobSlot::~JobSlot() {
  if (scheduler_ == nullptr) return;
  {
    std::lock_guard lock(scheduler_->mutex_);
    ++scheduler_->free_slots_;
    if (emulated_) ++scheduler_->free_emulated_slots_;
  }
  scheduler_->changed_.notify_all();
}

std::optional<BuildScheduler::AppLease> BuildScheduler::AcquireApp(
    const std::string& app, std::stop_token stop, const std::function<void()>& on_wait) {
  std::unique_lock lock(mutex_);
  if (building_.contains(app)) {
    lock.unlock();
    on_wait();
    lock.lock();
  }
  if (!changed_.wait(lock, stop, [&] { return !held_ && !building_.contains(app); })) {
    return std::nullopt;
  }
  building_.insert(app);
  return AppLease(this, app);
}

BuildScheduler::Hold::~Hold() {
  if (scheduler_ == nullptr) return;
  {
    std::lock_guard lock(scheduler_->mutex_);
    scheduler_->held_ = false;
  }
  scheduler_->changed_.notify_all();
}

std::optional<BuildScheduler::Hold> BuildScheduler::HoldBuilds(
    std::stop_token stop, std::chrono::steady_clock::duration patience) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, stop, patience, [&] { return building_.empty(); });
  if (stop.stop_requested()) return std::nullopt;
  held_ = true;  // from now on, no new build starts
  if (!changed_.wait(lock, stop, [&] { return building_.empty(); })) {
    held_ = false;
    lock.unlock();
    changed_.notify_all();
    return std::nullopt;
  }
  return Hold(this);
}

std::optional<BuildScheduler::JobSlot> BuildScheduler::AcquireJobSlot(std::stop_token stop,
                                                                      bool emulated) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait(lock, stop,
                     [&] { return free_slots_ > 0 && (!emulated || free_emulated_slots_ > 0); })) {
    return std::nullopt;
  }
  --free_slots_;
  if (emulated) --free_emulated_slots_;
  return JobSlot(this, emulated);
}

}  // namespace hephy
