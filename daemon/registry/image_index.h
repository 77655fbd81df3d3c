// Platforms and the multi-architecture index that ties one build's
// per-platform images together (ARCHITECTURE.md "Tags").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hephy/registry_client.h"

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

struct StitchedIndex {
  std::string digest;      // sha256 of `body`
  std::string media_type;  // kOciIndex or kDockerManifestList
  std::string body;        // the exact bytes pushed under every tag
};

// Reads each child manifest (by digest) and its config blob to get
// os/architecture/variant, builds an OCI image index (kOciIndex) when the
// children are OCI manifests, or a Docker manifest list (kDockerManifestList)
// when they are Docker schema 2 (mixed: Error), with `annotations` on the
// index (OCI only; Docker lists have none, so they are dropped there), and
// PUTs the same bytes under every tag in `tags` (under its digest when `tags`
// is empty). Entries list mediaType, digest, size and platform, children in
// the given order; the JSON is byte-deterministic. Throws Error naming the
// child digest when a child is missing, not a single-image manifest, has no
// platform in its config, or shares its platform with another child.
StitchedIndex StitchIndex(RegistryClient& registry, const std::string& repository,
                          const std::vector<std::string>& child_digests,
                          const std::map<std::string, std::string>& annotations,
                          const std::vector<std::string>& tags);

}  // namespace hephy
