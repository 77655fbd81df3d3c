// Tag rules (ARCHITECTURE.md "Tags"): where a unit's images go in the
// registry and under which names.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace hephy {

struct UnitTags {
  std::string default_tag;              // "{unit}-{YYYYMMDD}-{sha7}"
  std::vector<std::string> index_tags;  // default_tag, then "{unit}-latest"
};

// The tags of a build of `unit` at `commit_id`, dated `when` (UTC).
UnitTags TagsFor(const std::string& unit, const std::string& commit_id,
                 std::chrono::system_clock::time_point when);

// The per-architecture tag: "{default}-{arch}{variant}", e.g. "web-20261125-a1b2c3d-arm64"
// for linux/arm64 and "...-armv7" for linux/arm/v7.
std::string ArchTag(const std::string& default_tag, const std::string& platform);

// registry.repository with "{app}" replaced by the app's name.
std::string RepositoryFor(const std::string& pattern, const std::string& app);

// "2026-11-25T08:10:00Z".
std::string Rfc3339(std::chrono::system_clock::time_point when);

}  // namespace hephy
