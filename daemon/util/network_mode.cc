#include "util/network_mode.h"

namespace hephy {

std::optional<NetworkMode> ParseNetworkMode(std::string_view text) {
  if (text == "none") return NetworkMode::kNone;
  if (text == "isolated") return NetworkMode::kIsolated;
  if (text == "host") return NetworkMode::kHost;
  return std::nullopt;
}

std::string_view NetworkModeName(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::kNone:
      return "none";
    case NetworkMode::kIsolated:
      return "isolated";
    case NetworkMode::kHost:
      return "host";
  }
  return "?";
}

}  // namespace hephy
