// A command's arguments, consumed as they are parsed: options anywhere,
// positionals in order. Leftovers are a usage error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hephy {

class CliArgs {
 public:
  explicit CliArgs(std::vector<std::string> args) : args_(std::move(args)) {}

  // True (and consumed) when the flag is present.
  bool Flag(const std::string& name);
  // "--name VALUE" or "--name=VALUE". Throws UsageError when VALUE is missing.
  std::optional<std::string> Option(const std::string& name);
  // The next positional argument; throws UsageError naming `what` if none.
  std::string Required(const std::string& what);
  std::optional<std::string> Optional();
  // Throws UsageError for any argument not consumed ("unknown option --x").
  void ExpectEnd() const;
  bool Empty() const { return args_.empty(); }

 private:
  std::vector<std::string> args_;
};

// `text` as a number from 1 up, for IDs and limits. Throws UsageError naming
// `what` otherwise ("ID must be a positive number, got 'x'").
int64_t ParsePositive(const std::string& what, const std::string& text);

}  // namespace hephy
