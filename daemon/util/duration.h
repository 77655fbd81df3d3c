// Durations as the config file and the rebuild schedule write them.
#pragma once

#include <chrono>
#include <string>

namespace hephy {

// "60m", "30s", "2h", "1h30m" or a plain number of seconds; more than zero.
// Throws Error quoting `text`.
std::chrono::seconds ParseDuration(const std::string& text);

// The same, written as ParseDuration reads it: "5m", "1h30m", "45s", "0s".
std::string FormatDuration(std::chrono::seconds duration);

}  // namespace hephy
