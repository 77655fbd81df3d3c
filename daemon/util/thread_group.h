// Threads that run detached, one per connection, yet are waited for as a
// group when a server stops.
#pragma once

#include <climits>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace hephy {

class ThreadGroup {
 public:
  ThreadGroup() = default;
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;

  // Runs `work` on a new thread, unless `limit` threads of the group are
  // running already: then returns false and `work` is not run.
  bool Start(std::function<void()> work, int limit = INT_MAX);

  // Blocks until every thread of the group has finished.
  void Wait();

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  int running_ = 0;
};

}  // namespace hephy
