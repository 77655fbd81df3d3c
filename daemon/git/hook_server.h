// The hook service: a Unix socket in the data directory where hephy-hook
// (git's pre-receive hook) hands over each push and hears back what to print
// and whether git may accept it. Protocol: include/hephy/hook_protocol.h.
#pragma once

#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>

#include "git/push_request.h"
#include "util/process.h"
#include "util/thread_group.h"

namespace hephy {

// Decides one push: `say` sends a line to the pusher at once; `hangup`
// fires when the hook goes away (the pusher disconnected and git was
// killed); the return value is the hook's exit status (0: git accepts the
// push). Called on the connection's own thread; it must not throw.
using PushHandler =
    std::function<int(const PushRequest& request,
                      const std::function<void(const std::string&)>& say, std::stop_token hangup)>;

class HookServer {
 public:
  explicit HookServer(PushHandler handler);
  ~HookServer();
  HookServer(const HookServer&) = delete;
  HookServer& operator=(const HookServer&) = delete;

  // Binds `path` (replacing a stale socket), readable by hephyd's user only.
  void Listen(const std::filesystem::path& path);
  // Serves connections until Stop(), then waits for those in progress.
  void Run();
  void Stop();

 private:
  void Serve(int fd);

  PushHandler handler_;
  std::filesystem::path path_;
  UniqueFd listener_;
  UniqueFd stop_fd_;
  ThreadGroup connections_;
};

// Parses a request's packets; throws Error naming a malformed field.
PushRequest ParsePushRequest(const std::vector<std::string>& packets);

}  // namespace hephy
