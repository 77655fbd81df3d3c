// Collects what a child process writes to one pipe, on a thread of its own,
// so a test can wait for a line to appear while the child keeps running.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace hephy {

class OutputWatcher {
 public:
  // Reads `fd` (non-blocking, owned by the caller, open until Join) to its end.
  explicit OutputWatcher(int fd)
      : reader_([this, fd] {
          pollfd p{fd, POLLIN, 0};
          while (poll(&p, 1, -1) >= 0 || errno == EINTR) {
            char buffer[4096];
            const ssize_t n = read(fd, buffer, sizeof buffer);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            std::lock_guard lock(mutex_);
            if (n <= 0) {
              closed_ = true;
              changed_.notify_all();
              return;
            }
            text_.append(buffer, n);
            changed_.notify_all();
          }
        }) {}
  ~OutputWatcher() { Join(); }
  OutputWatcher(const OutputWatcher&) = delete;
  OutputWatcher& operator=(const OutputWatcher&) = delete;

  // True once `needle` has been written; false when the deadline passes or
  // the stream ends without it.
  bool WaitFor(const std::string& needle,
               std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout,
                      [&] { return closed_ || text_.find(needle) != std::string::npos; });
    return text_.find(needle) != std::string::npos;
  }

  // Waits for the end of the stream.
  void Join() {
    if (reader_.joinable()) reader_.join();
  }

  std::string Text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  bool closed_ = false;
  std::thread reader_;  // last: starts once the members it uses exist
};

}  // namespace hephy
