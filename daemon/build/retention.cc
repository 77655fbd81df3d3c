#include "build/retention.h"

#include <algorithm>
#include <regex>

namespace hephy {

std::vector<int64_t> ExpiredBuilds(const std::vector<BuildRecordAge>& builds,
                                   const RetentionConfig& retention,
                                   std::chrono::system_clock::time_point now) {
  std::map<std::string, std::vector<const BuildRecordAge*>> by_app;
  for (const auto& build : builds) by_app[build.app].push_back(&build);
  const auto cutoff = now - std::chrono::days(retention.builds_days);
  std::vector<int64_t> expired;
  for (auto& [app, list] : by_app) {
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->id > b->id; });
    for (size_t i = static_cast<size_t>(retention.builds_keep); i < list.size(); ++i) {
      const BuildRecordAge& build = *list[i];
      if (build.created >= cutoff) continue;
      if (build.status != "succeeded" && build.status != "failed" && build.status != "cancelled" &&
          build.status != "interrupted") {
        continue;
      }
      expired.push_back(build.id);
    }
  }
  std::sort(expired.begin(), expired.end());
  return expired;
}

std::optional<DatedTag> ParseDatedTag(const std::string& tag) {
  static const std::regex dated("(.+)-([0-9]{8})-[0-9a-f]{7}");
  std::smatch match;
  if (!std::regex_match(tag, match, dated)) return std::nullopt;
  return DatedTag{match[1].str(), match[2].str()};
}

std::vector<std::string> ArchTagsOf(const std::string& dated,
                                    const std::vector<std::string>& tags) {
  std::vector<std::string> arch;
  for (const auto& tag : tags) {
    if (tag.size() > dated.size() + 1 && tag.starts_with(dated + "-") && !ParseDatedTag(tag)) {
      arch.push_back(tag);
    }
  }
  return arch;
}

ImageSelection ExpiredImages(const std::vector<DatedImage>& images,
                             const std::set<std::string>& referenced, int keep) {
  ImageSelection selection;
  if (keep <= 0) return selection;
  std::map<std::string, std::vector<const DatedImage*>> by_unit;
  for (const auto& image : images) by_unit[image.unit].push_back(&image);

  std::vector<const DatedImage*> beyond;
  std::set<std::string> protect = referenced;
  const auto protect_image = [&](const DatedImage& image) {
    protect.insert(image.digest);
    protect.insert(image.children.begin(), image.children.end());
    for (const auto& [tag, digest] : image.arch_tags) protect.insert(digest);
  };
  for (auto& [unit, list] : by_unit) {
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) {
      return std::tie(a->date, a->created, a->build, a->tag) >
             std::tie(b->date, b->created, b->build, b->tag);
    });
    for (size_t i = 0; i < list.size(); ++i) {
      if (i < static_cast<size_t>(keep) || referenced.contains(list[i]->digest)) {
        protect_image(*list[i]);
        if (i >= static_cast<size_t>(keep)) selection.kept_referenced.push_back(list[i]->tag);
      } else {
        beyond.push_back(list[i]);
      }
    }
  }
  std::set<std::string> taken;  // a digest two old tags share is deleted once
  for (const DatedImage* image : beyond) {
    // The index itself is a kept one's too (or an additional tag's child).
    if (protect.contains(image->digest)) {
      selection.kept_referenced.push_back(image->tag);
      continue;
    }
    ImageSelection::Removal removal{image->tag, {}};
    const auto add = [&](const std::string& digest) {
      if (!digest.empty() && !protect.contains(digest) && taken.insert(digest).second) {
        removal.digests.push_back(digest);
      }
    };
    add(image->digest);
    for (const auto& child : image->children) add(child);
    for (const auto& [tag, digest] : image->arch_tags) add(digest);
    selection.remove.push_back(std::move(removal));
  }
  std::sort(selection.remove.begin(), selection.remove.end(),
            [](const auto& a, const auto& b) { return a.tag < b.tag; });
  std::sort(selection.kept_referenced.begin(), selection.kept_referenced.end());
  return selection;
}

}  // namespace hephy
