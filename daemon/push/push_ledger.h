// Hands hephyd's verdict on a push from the hook service to the SSH session
// whose git ran the hook: the session writes the push's audit record once
// git has exited, and only the hook service knows why a push was refused.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "git/push_request.h"

namespace hephy {

// Thread-safe. Holds an entry only while a session has its push open, so a
// verdict nobody waits for (a rebuild, a session already gone) is dropped.
class PushLedger {
 public:
  PushLedger() = default;
  PushLedger(const PushLedger&) = delete;
  PushLedger& operator=(const PushLedger&) = delete;

  // The session: the push with this id (HEPHY_PUSH_ID) is about to run.
  void Open(const std::string& push_id);
  // The hook service: hephyd's verdict on the push.
  void Decide(const std::string& push_id, const PushVerdict& verdict);
  // The session, once git has exited: the verdict if the hook got one.
  // Forgets the push.
  std::optional<PushVerdict> Close(const std::string& push_id);

 private:
  std::mutex mutex_;
  std::map<std::string, std::optional<PushVerdict>> open_;
};

}  // namespace hephy
