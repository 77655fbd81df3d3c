// Tag rules (ARCHITECTURE.md "Tags"): where a unit's images go in the
// registry and under which names.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace hephy {

struct UnitTags {
  std::string default_tag;              // "{unit}-{YYYYMMDD}-{sha7}"
  std::vector<std::string> index_tags;  // default_tag, then "{unit}-{tag}" for each additional
};

// The tags of a build of `unit` from `commit_id` (the pushed commit, or the
// upstream commit of an upstream unit), dated `when` (UTC), with
// build-config.yaml's additional_tags.
UnitTags TagsFor(const std::string& unit, const std::string& commit_id,
                 std::chrono::system_clock::time_point when,
                 const std::vector<std::string>& additional_tags);

// The per-architecture tag: "{default}-{arch}{variant}", e.g. "web-20261125-a1b2c3d-arm64"
// for linux/arm64 and "...-armv7" for linux/arm/v7. Other systems than linux
// keep their name: "...-wasi-wasm" for wasi/wasm, "...-wasip1-wasm" for wasip1/wasm.
std::string ArchTag(const std::string& default_tag, const std::string& platform);

// registry.repository with "{app}" replaced by the app's name.
std::string RepositoryFor(const std::string& pattern, const std::string& app);

// Where executors that keep the layer cache in the registry (Kaniko) keep
// `app`'s: beside its images, never another app's ("web/cache" for "{app}";
// "images/cache/web" for a pattern without "{app}", which all apps share).
std::string CacheRepositoryFor(const std::string& pattern, const std::string& app);

// The app whose repository `repository` is under `pattern`, which names
// "{app}": a valid app name, not necessarily one that exists. nullopt for
// any other repository, and whenever `pattern` names no "{app}".
std::optional<std::string> AppOfRepository(const std::string& pattern,
                                           const std::string& repository);

// "2026-11-25T08:10:00Z".
std::string Rfc3339(std::chrono::system_clock::time_point when);

}  // namespace hephy
