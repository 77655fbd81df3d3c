// ssh.auth_failures: stops one address from guessing keys, or from holding
// connections open without authenticating, for long. A connection that ends
// without authenticating after trying to (or after running out of time) is
// a failure of its address; `limit` failures within `window`, and new
// connections from that address are refused for `block`. Other addresses,
// and sessions already authenticated, are not affected.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "hephy/config.h"

namespace hephy {

// Thread-safe. Remembers at most `max_addresses` addresses; beyond that, the
// one whose last failure is oldest (and is not blocked, if any) is forgotten.
class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuthThrottle(const AuthFailuresConfig& config, size_t max_addresses = 10000);
  AuthThrottle(const AuthThrottle&) = delete;
  AuthThrottle& operator=(const AuthThrottle&) = delete;

  // When `address` ("127.0.0.1", "::1") is blocked at `now`: until when.
  std::optional<Clock::time_point> BlockedUntil(const std::string& address, Clock::time_point now);

  // Records a failure of `address`. True when it blocks the address (from
  // `now` for config.block), for the caller to log once.
  bool Failed(const std::string& address, Clock::time_point now);

  // Addresses remembered, for tests.
  size_t Size();

 private:
  struct Entry {
    std::deque<Clock::time_point> failures;  // within the window, oldest first; at most limit
    Clock::time_point blocked_until;
  };

  // Whether `entry` holds nothing that still matters at `now`.
  bool Expired(const Entry& entry, Clock::time_point now) const;
  void MakeRoom(Clock::time_point now);

  const AuthFailuresConfig config_;
  const size_t max_addresses_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace hephy
