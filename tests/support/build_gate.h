// A door a build's RUN step waits at, so a test can hold a build in
// progress without sleeping: busybox wget asks this loopback server, whose
// answer waits until the test opens the door.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "loopback_http_server.h"

namespace hephy {

class BuildGate {
 public:
  BuildGate()
      : server_([this] {
          return [this](const LoopbackHttpServer::Request&) {
            std::unique_lock lock(mutex_);
            reached_ = true;
            changed_.notify_all();
            changed_.wait(lock, [&] { return open_; });
            LoopbackHttpServer::Response response{boost::beast::http::status::ok, 11};
            response.body() = "open\n";
            return std::optional(response);
          };
        }) {}
  ~BuildGate() { Open(); }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/"; }
  bool WaitUntilReached(std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return reached_; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool reached_ = false;
  bool open_ = false;
  LoopbackHttpServer server_;  // last: serves once the rest exists
};

}  // namespace hephy
