#include "ssh/auth_throttle.h"

#include <algorithm>

namespace hephy {

AuthThrottle::AuthThrottle(const AuthFailuresConfig& config, size_t max_addresses)
    : config_(config), max_addresses_(std::max<size_t>(1, max_addresses)) {}

bool AuthThrottle::Expired(const Entry& entry, Clock::time_point now) const {
  return entry.blocked_until <= now &&
         (entry.failures.empty() || entry.failures.back() + config_.window <= now);
}

std::optional<AuthThrottle::Clock::time_point> AuthThrottle::BlockedUntil(
    const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto entry = entries_.find(address);
  if (entry == entries_.end() || entry->second.blocked_until <= now) return std::nullopt;
  return entry->second.blocked_until;
}

bool AuthThrottle::Failed(const std::string& address, Clock::time_point now) {
  if (config_.limit <= 0) return false;
  std::lock_guard lock(mutex_);
  if (!entries_.contains(address) && entries_.size() >= max_addresses_) MakeRoom(now);
  Entry& entry = entries_[address];
  if (entry.blocked_until > now) return false;  // a connection accepted before the block
  auto& failures = entry.failures;
  while (!failures.empty() && failures.front() + config_.window <= now) failures.pop_front();
  failures.push_back(now);
  if (failures.size() < static_cast<size_t>(config_.limit)) return false;
  // Blocked: its count starts again when the block ends.
  failures.clear();
  entry.blocked_until = now + config_.block;
  return true;
}

void AuthThrottle::MakeRoom(Clock::time_point now) {
  std::erase_if(entries_, [&](const auto& e) { return Expired(e.second, now); });
  if (entries_.size() < max_addresses_) return;
  // Under a flood from many addresses: forget the one idle longest, sparing
  // blocked addresses while there are others.
  const auto last = [](const Entry& e) {
    return e.failures.empty() ? Clock::time_point::min() : e.failures.back();
  };
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (victim == entries_.end()) {
      victim = it;
      continue;
    }
    const bool blocked = it->second.blocked_until > now;
    const bool victim_blocked = victim->second.blocked_until > now;
    if (blocked != victim_blocked ? !blocked : last(it->second) < last(victim->second)) {
      victim = it;
    }
  }
  entries_.erase(victim);
}

size_t AuthThrottle::Size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace hephy
