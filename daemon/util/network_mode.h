// How much network the RUN steps of a build get (builder.network, and a
// unit's `network` in build-config.yaml), from the strictest: none at all;
// an isolated bridge with the way out but no way to the host; the host's own.
#pragma once

#include <optional>
#include <string_view>

namespace hephy {

// Ordered: a smaller value is stricter.
enum class NetworkMode { kNone, kIsolated, kHost };

// "none", "isolated" or "host"; nullopt for anything else.
std::optional<NetworkMode> ParseNetworkMode(std::string_view text);

std::string_view NetworkModeName(NetworkMode mode);

}  // namespace hephy
