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

SessionLimits::Slot SessionLimits::StartHandshake(const std::string& address, bool* per_address) {
  std::lock_guard lock(mutex_);
  int& of_address = handshakes_by_address_[address];
  const bool address_full = of_address >= config_.max_startups_per_address;
  if (per_address != nullptr) *per_address = address_full;
  if (address_full || (config_.max_startups > 0 && handshakes_ >= config_.max_startups)) {
    if (of_address == 0) handshakes_by_address_.erase(address);
    return {};
  }
  ++of_address;
  return Take(handshakes_, config_.max_startups, [this, address] {
    std::lock_guard lock(mutex_);
    --handshakes_;
    if (--handshakes_by_address_[address] == 0) handshakes_by_address_.erase(address);
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
