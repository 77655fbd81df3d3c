// Errors cross module lines as exceptions of these two types and are caught at
// one boundary per entry point: the CLI's main, and each SSH session.
#pragma once

#include <stdexcept>
#include <string>

namespace hephy {

// A failure the user can act on. what() names the input and the reason, e.g.
// "hephy.yaml:4: ssh.listen: expected HOST:PORT, got 'x'". Exit status 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The command line itself was wrong. Exit status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace hephy
