// Platforms and the multi-architecture index that ties one build's
// per-platform images together (ARCHITECTURE.md "Tags").
#pragma once

#include <string>

namespace hephy {

struct Platform {
  std::string os, architecture, variant;  // variant may be empty
  bool operator==(const Platform&) const = default;
};

// "linux/arm64", "linux/arm/v7", "wasi/wasm": OS/ARCH[/VARIANT] in lower case
// (os and variant [a-z0-9]+, architecture [a-z0-9_]+, as the config accepts).
// Throws Error naming the text.
Platform ParsePlatform(const std::string& text);

// "linux/arm/v7"; ParsePlatform(ToString(p)) == p.
std::string ToString(const Platform& platform);

}  // namespace hephy
