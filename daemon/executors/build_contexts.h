// Build contexts handed to build pods over hephyd's HTTP server: a job
// registers its context directory and gets a token; the pod's init container
// fetches the context once, as a tar streamed from the directory
// (GET /api/v1/contexts/JOB with Authorization: Bearer TOKEN). A token is
// good for one fetch, of its own job only, until it expires or the job ends.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace hephy {

class BuildContexts {
 public:
  using Clock = std::chrono::steady_clock;

  // Registers `dir` as the context of `job` (a name of letters, digits and
  // '-', e.g. "12-linux-arm64"), replacing what it had, and returns its new
  // token: 32 random bytes, hex. Thread-safe, as is every method.
  std::string Issue(const std::string& job, const std::filesystem::path& dir,
                    std::chrono::seconds ttl);

  // The context directory of `job` when `token` is its live token, which is
  // used up by this; nullopt for an unknown job, a wrong, used or expired
  // token (all alike to the caller).
  std::optional<std::filesystem::path> Redeem(const std::string& job, const std::string& token);

  // Forgets the job (it ended); its token no longer works.
  void Revoke(const std::string& job);

  // For tests: the clock Redeem compares expiry times with.
  void SetClockForTest(std::function<Clock::time_point()> now);

 private:
  struct Grant {
    std::string token_sha256;  // only a digest is kept, compared in constant time
    std::filesystem::path dir;
    Clock::time_point expires;
  };
  std::mutex mutex_;
  std::map<std::string, Grant> grants_;
  std::function<Clock::time_point()> now_ = [] { return Clock::now(); };
};

}  // namespace hephy
