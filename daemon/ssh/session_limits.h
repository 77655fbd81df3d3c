// How many SSH connections are in each stage, against the limits of the
// config: ssh.max_startups and ssh.max_startups_per_address (not
// authenticated yet), ssh.max_sessions (authenticated) and
// ssh.max_pushes_per_user.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "hephy/config.h"

namespace hephy {

// Thread-safe.
class SessionLimits {
 public:
  // One place taken. It is given back when the last copy of the Slot goes;
  // an empty Slot holds nothing.
  class Slot {
   public:
    Slot() = default;
    explicit operator bool() const { return held_ != nullptr; }

   private:
    friend class SessionLimits;
    struct Held {
      explicit Held(std::function<void()> r) : release(std::move(r)) {}
      ~Held() { release(); }
      Held(const Held&) = delete;
      Held& operator=(const Held&) = delete;
      std::function<void()> release;
    };
    std::shared_ptr<Held> held_;
  };

  explicit SessionLimits(const SshConfig& config) : config_(config) {}
  SessionLimits(const SessionLimits&) = delete;
  SessionLimits& operator=(const SessionLimits&) = delete;

  // A new connection from `address` (an IP address), until it
  // authenticates; empty when max_startups are taken, or
  // max_startups_per_address by that address (then *per_address is set).
  Slot StartHandshake(const std::string& address, bool* per_address = nullptr);
  // An authenticated session; empty when max_sessions are taken.
  Slot StartSession();
  // A push by `user`; empty when they have max_pushes_per_user running (never
  // when it is 0).
  Slot StartPush(const std::string& user);

 private:
  Slot Take(int& count, int limit, std::function<void()> release);

  const SshConfig& config_;
  std::mutex mutex_;
  int handshakes_ = 0;
  std::map<std::string, int> handshakes_by_address_;  // only addresses with one
  int sessions_ = 0;
  std::map<std::string, int> pushes_;  // by user; only users with a push running
};

}  // namespace hephy
