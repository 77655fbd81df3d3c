#include "ssh/session_limits.h"

namespace hephy {

SessionLimits::Slot SessionLimits::Take(int& count, int limit, std::function<void()> release) {
  // Called with mutex_ held.
  if (limit > 0 && count >= limit) return {};
  ++count;
  Slot slot;
  slot.held_ = std::make_shared<Slot::Held>(std::move(release));
  return slot;
}

SessionLimits::Slot SessionLimits::StartHandshake() {
  std::lock_guard lock(mutex_);
  return Take(handshakes_, config_.max_startups, [this] {
    std::lock_guard lock(mutex_);
    --handshakes_;
  });
}

SessionLimits::Slot SessionLimits::StartSession() {
  std::lock_guard lock(mutex_);
  return Take(sessions_, config_.max_sessions, [this] {
    std::lock_guard lock(mutex_);
    --sessions_;
  });
}

SessionLimits::Slot SessionLimits::StartPush(const std::string& user) {
  std::lock_guard lock(mutex_);
  return Take(pushes_[user], config_.max_pushes_per_user, [this, user] {
    std::lock_guard lock(mutex_);
    if (--pushes_[user] == 0) pushes_.erase(user);
  });
}

}  // namespace hephy
