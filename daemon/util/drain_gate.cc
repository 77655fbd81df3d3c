#include "util/drain_gate.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hephy/error.h"

namespace hephy {

struct DrainGate::Pass::Held {
  explicit Held(DrainGate& gate) : gate(gate) {}
  ~Held() { gate.Release(); }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  DrainGate& gate;
};

DrainGate::DrainGate() : idle_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (idle_fd_.get() < 0) throw Error(std::string("eventfd: ") + std::strerror(errno));
}

DrainGate::Pass DrainGate::Admit() {
  std::lock_guard lock(mutex_);
  Pass pass;
  if (draining_) return pass;
  ++active_;
  pass.held_ = std::make_shared<Pass::Held>(*this);
  return pass;
}

void DrainGate::Begin() {
  std::lock_guard lock(mutex_);
  if (draining_) return;
  draining_ = true;
  if (active_ == 0) SignalIdleLocked();
}

bool DrainGate::draining() const {
  std::lock_guard lock(mutex_);
  return draining_;
}

int DrainGate::active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

void DrainGate::Release() {
  std::lock_guard lock(mutex_);
  if (--active_ == 0 && draining_) SignalIdleLocked();
}

void DrainGate::SignalIdleLocked() {
  const uint64_t one = 1;
  // Never read back: the descriptor stays readable.
  [[maybe_unused]] const auto n = write(idle_fd_.get(), &one, sizeof one);
}

}  // namespace hephy
