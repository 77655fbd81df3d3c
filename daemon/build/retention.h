// What retention (config retention:) lets go, decided on plain data so that
// the rules can be read and tested apart from the store and the registry:
// daemon/build/pruner.h gathers the data and does the deleting.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hephy/config.h"

namespace hephy {

struct BuildRecordAge {
  int64_t id = 0;
  std::string app;
  std::string status;
  std::chrono::system_clock::time_point created;
};

// The builds to delete, by id ascending: those both created more than
// builds_days days before `now` and not among their app's builds_keep
// newest (by id). A build still queued or running is never one of them,
// and counts among the newest.
std::vector<int64_t> ExpiredBuilds(const std::vector<BuildRecordAge>& builds,
                                   const RetentionConfig& retention,
                                   std::chrono::system_clock::time_point now);

// A dated tag, "{unit}-{YYYYMMDD}-{sha7}" (build/image_tags.h): its unit and
// date. nullopt for every other tag (additional and per-architecture ones).
struct DatedTag {
  std::string unit;
  std::string date;  // "20261125"
};
std::optional<DatedTag> ParseDatedTag(const std::string& tag);

// The per-architecture tags of the dated tag `dated` among `tags`:
// "{dated}-{arch}" for every tag that is not itself dated.
std::vector<std::string> ArchTagsOf(const std::string& dated, const std::vector<std::string>& tags);

// One dated image in a registry repository, as the registry holds it.
struct DatedImage {
  std::string tag;      // "web-20261125-a1b2c3d"
  std::string unit;     // "web"
  std::string date;     // "20261125"
  std::string created;  // the index's org.opencontainers.image.created, "" if none
  int64_t build = 0;    // the newest build recorded that pushed the tag, 0 if none
  std::string digest;   // the index's (or manifest's) digest
  // The manifests it references (an index's per-architecture images), and
  // the digests its per-architecture tags name: tag -> digest.
  std::vector<std::string> children;
  std::map<std::string, std::string> arch_tags;
};

struct ImageSelection {
  // Images beyond their unit's `keep` newest whose index no other tag
  // names; and, for each, the manifests to delete: its index, then its
  // children and arch tags' digests that nothing kept references.
  struct Removal {
    std::string tag;
    std::vector<std::string> digests;
  };
  std::vector<Removal> remove;
  // Images beyond `keep` that stay because an additional tag names them.
  std::vector<std::string> kept_referenced;
};

// Per unit, images are ordered by date, then created, then build, then tag; the `keep`
// newest stay (keep 0: every image stays). `referenced` holds every digest
// a tag that is not dated names (latest, versions) and whatever those
// indexes reference: neither those nor the manifests of kept images are
// ever in a removal.
ImageSelection ExpiredImages(const std::vector<DatedImage>& images,
                             const std::set<std::string>& referenced, int keep);

}  // namespace hephy
