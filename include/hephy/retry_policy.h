// When the registry client tries an operation again: after a broken
// connection, a 429 or a 5xx, with exponential back-off and jitter, within a
// bounded number of tries and a bounded total time (registry.retry).
#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <string>

namespace hephy {

struct RetryPolicy {
  int attempts = 5;  // tries of one operation, the first included
  // The first wait; each next one doubles, up to max_delay.
  std::chrono::milliseconds first_delay{500};
  std::chrono::milliseconds max_delay{10'000};
  // From the first try: no try starts after it.
  std::chrono::milliseconds max_time{60'000};
};

// 408, 429 and the 5xx that say "not now" (500, 502, 503, 504, and other 5xx
// but 501 Not Implemented and 505 HTTP Version Not Supported).
bool IsRetryableStatus(int status);

// A Retry-After header's delay: delta-seconds only (an HTTP date is ignored,
// registries send seconds); nullopt when absent or not a number.
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& header);

// The wait before try number `attempt` (2 is the first retry): first_delay *
// 2^(attempt-2), capped at max_delay, half of it fixed and half random ("equal
// jitter": clients that failed together do not come back together). A
// server's Retry-After is honoured up to max_delay.
std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int attempt,
                                     std::optional<std::chrono::seconds> retry_after,
                                     std::mt19937_64& random);

}  // namespace hephy
