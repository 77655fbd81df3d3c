#include "hephy/retry_policy.h"

#include <algorithm>

namespace hephy {

bool IsRetryableStatus(int status) {
  if (status == 408 || status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& header) {
  if (header.empty() || header.size() > 9 ||
      header.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::stol(header));
}

std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int attempt,
                                     std::optional<std::chrono::seconds> retry_after,
                                     std::mt19937_64& random) {
  using std::chrono::milliseconds;
  if (retry_after) {
    return std::min<milliseconds>(std::chrono::duration_cast<milliseconds>(*retry_after),
                                  policy.max_delay);
  }
  milliseconds delay = policy.first_delay;
  for (int i = 2; i < attempt && delay < policy.max_delay; ++i) delay *= 2;
  delay = std::min(delay, policy.max_delay);
  const long long half = delay.count() / 2;
  std::uniform_int_distribution<long long> jitter(0, delay.count() - half);
  return milliseconds(half + jitter(random));
}

}  // namespace hephy
