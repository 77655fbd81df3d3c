// Errors cross module lines as exceptions of these two types and are caught at
// one boundary per entry point: the CLI's main, and each SSH session.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace hephy {

// A failure the user can act on. what() names the input and the reason, e.g.
// "hephy.yaml:4: ssh.listen: expected HOST:PORT, got 'x'". Exit status 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failure that trying again later may cure: a connection that broke, a
// server that said 429 or 503. `retry_after` is the server's own advice.
class TransientError : public Error {
 public:
  explicit TransientError(const std::string& what,
                          std::optional<std::chrono::seconds> retry_after = std::nullopt)
      : Error(what), retry_after_(retry_after) {}
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }

 private:
  std::optional<std::chrono::seconds> retry_after_;
};

// The command line itself was wrong. Exit status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace hephy
