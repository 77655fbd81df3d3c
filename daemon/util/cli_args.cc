#include "util/cli_args.h"

#include <charconv>

#include "hephy/error.h"

namespace hephy {

bool CliArgs::Flag(const std::string& name) {
  for (auto it = args_.begin(); it != args_.end(); ++it) {
    if (*it == "--") break;
    if (*it == name) {
      args_.erase(it);
      return true;
    }
  }
  return false;
}

std::optional<std::string> CliArgs::Option(const std::string& name) {
  for (auto it = args_.begin(); it != args_.end(); ++it) {
    if (*it == "--") break;
    if (*it == name) {
      if (std::next(it) == args_.end()) throw UsageError(name + " needs a value");
      std::string value = *std::next(it);
      args_.erase(it, it + 2);
      return value;
    }
    if (it->starts_with(name + "=")) {
      std::string value = it->substr(name.size() + 1);
      args_.erase(it);
      return value;
    }
  }
  return std::nullopt;
}

std::optional<std::string> CliArgs::Optional() {
  for (auto it = args_.begin(); it != args_.end(); ++it) {
    if (*it == "--") {
      if (std::next(it) == args_.end()) return std::nullopt;
      std::string value = *std::next(it);
      args_.erase(std::next(it));
      return value;
    }
    // "-" alone is a positional (stdin); other dashes are options.
    if (*it == "-" || !it->starts_with("-")) {
      std::string value = *it;
      args_.erase(it);
      return value;
    }
  }
  return std::nullopt;
}

std::string CliArgs::Required(const std::string& what) {
  auto value = Optional();
  if (!value) throw UsageError("missing " + what);
  return *value;
}

void CliArgs::ExpectEnd() const {
  for (const auto& arg : args_) {
    if (arg == "--") continue;
    throw UsageError(arg.starts_with("-") ? "unknown option '" + arg + "'"
                                          : "unexpected argument '" + arg + "'");
  }
}

int64_t ParsePositive(const std::string& what, const std::string& text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1) {
    throw UsageError(what + " must be a positive number, got '" + text + "'");
  }
  return value;
}

}  // namespace hephy
