#include "executors/build_contexts.h"

#include <openssl/crypto.h>

#include "util/hex.h"

namespace hephy {

std::string BuildContexts::Issue(const std::string& job, const std::filesystem::path& dir,
                                 std::chrono::seconds ttl) {
  const std::string token = RandomHex(32);
  std::lock_guard lock(mutex_);
  grants_[job] = {Sha256Hex(token), dir, now_() + ttl};
  return token;
}

std::optional<std::filesystem::path> BuildContexts::Redeem(const std::string& job,
                                                           const std::string& token) {
  const std::string digest = Sha256Hex(token);
  std::lock_guard lock(mutex_);
  const auto grant = grants_.find(job);
  if (grant == grants_.end()) return std::nullopt;
  // Digests of equal length, compared without an early exit.
  if (CRYPTO_memcmp(digest.data(), grant->second.token_sha256.data(), digest.size()) != 0) {
    return std::nullopt;
  }
  const auto found = grant->second;
  grants_.erase(grant);  // used up, whether or not it is still in time
  if (now_() >= found.expires) return std::nullopt;
  return found.dir;
}

void BuildContexts::Revoke(const std::string& job) {
  std::lock_guard lock(mutex_);
  grants_.erase(job);
}

void BuildContexts::SetClockForTest(std::function<Clock::time_point()> now) {
  std::lock_guard lock(mutex_);
  now_ = std::move(now);
}

}  // namespace hephy
