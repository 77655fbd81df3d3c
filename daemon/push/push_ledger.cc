#include "push/push_ledger.h"

namespace hephy {

void PushLedger::Open(const std::string& push_id) {
  std::lock_guard lock(mutex_);
  open_[push_id].reset();
}

void PushLedger::Decide(const std::string& push_id, const PushVerdict& verdict) {
  std::lock_guard lock(mutex_);
  const auto entry = open_.find(push_id);
  if (entry != open_.end()) entry->second = verdict;
}

std::optional<PushVerdict> PushLedger::Close(const std::string& push_id) {
  std::lock_guard lock(mutex_);
  const auto entry = open_.find(push_id);
  if (entry == open_.end()) return std::nullopt;
  auto verdict = std::move(entry->second);
  open_.erase(entry);
  return verdict;
}

}  // namespace hephy
