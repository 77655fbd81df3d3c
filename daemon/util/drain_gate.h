// Graceful shutdown (serve.drain_timeout). Work that must be let finish (a
// push, a rebuild) holds a Pass from Admit(); once Begin() is called, no new
// work is admitted, and idle_fd() becomes readable when the last Pass is
// given back, so the signal thread can poll it beside the signals.
#pragma once

#include <memory>
#include <mutex>

#include "util/process.h"

namespace hephy {

// Thread-safe.
class DrainGate {
 public:
  // One piece of admitted work; given back when the last copy goes. An empty
  // Pass holds nothing.
  class Pass {
   public:
    Pass() = default;
    explicit operator bool() const { return held_ != nullptr; }

   private:
    friend class DrainGate;
    struct Held;
    std::shared_ptr<Held> held_;
  };

  DrainGate();
  DrainGate(const DrainGate&) = delete;
  DrainGate& operator=(const DrainGate&) = delete;

  // A Pass for new work; empty once draining began.
  Pass Admit();

  // Admits nothing more from now on; idempotent.
  void Begin();
  bool draining() const;
  // How many Passes are held.
  int active() const;

  // Readable once draining began and no Pass is held (never read from).
  int idle_fd() const { return idle_fd_.get(); }

  // The message new work is refused with while draining.
  static constexpr const char* kRefusal = "hephyd is restarting; try again in a moment";

 private:
  void Release();
  void SignalIdleLocked();

  mutable std::mutex mutex_;
  bool draining_ = false;
  int active_ = 0;
  UniqueFd idle_fd_;
};

}  // namespace hephy
