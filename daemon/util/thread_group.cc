#include "util/thread_group.h"

#include <thread>

namespace hephy {

bool ThreadGroup::Start(std::function<void()> work, int limit) {
  {
    std::lock_guard lock(mutex_);
    if (running_ >= limit) return false;
    ++running_;
  }
  std::thread([this, work = std::move(work)] {
    work();
    std::lock_guard lock(mutex_);
    if (--running_ == 0) done_.notify_all();
  }).detach();
  return true;
}

void ThreadGroup::Wait() {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return running_ == 0; });
}

}  // namespace hephy
