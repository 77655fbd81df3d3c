#include "build/image_tags.h"

#include <ctime>

#include "util/names.h"

namespace hephy {
namespace {

std::string FormatUtc(std::chrono::system_clock::time_point when, const char* format) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  return std::string(buffer, std::strftime(buffer, sizeof buffer, format, &utc));
}

}  // namespace

UnitTags TagsFor(const std::string& unit, const std::string& commit_id,
                 std::chrono::system_clock::time_point when,
                 const std::vector<std::string>& additional_tags) {
  UnitTags tags;
  tags.default_tag = unit + "-" + FormatUtc(when, "%Y%m%d") + "-" + commit_id.substr(0, 7);
  tags.index_tags = {tags.default_tag};
  for (const auto& tag : additional_tags) tags.index_tags.push_back(unit + "-" + tag);
  return tags;
}

std::string ArchTag(const std::string& default_tag, const std::string& platform) {
  const auto slash = platform.find('/');
  const std::string os = platform.substr(0, slash);
  std::string suffix = platform.substr(slash + 1);
  std::erase(suffix, '/');
  return default_tag + "-" + (os == "linux" ? "" : os + "-") + suffix;
}

std::string RepositoryFor(const std::string& pattern, const std::string& app) {
  std::string out = pattern;
  const std::string placeholder = "{app}";
  for (auto at = out.find(placeholder); at != std::string::npos;
       at = out.find(placeholder, at + app.size())) {
    out.replace(at, placeholder.size(), app);
  }
  return out;
}

std::string CacheRepositoryFor(const std::string& pattern, const std::string& app) {
  if (pattern.find("{app}") == std::string::npos) return pattern + "/cache/" + app;
  return RepositoryFor(pattern, app) + "/cache";
}

std::optional<std::string> AppOfRepository(const std::string& pattern,
                                           const std::string& repository) {
  const auto placeholder = pattern.find("{app}");
  if (placeholder == std::string::npos || !repository.starts_with(pattern.substr(0, placeholder))) {
    return std::nullopt;
  }
  // App names are short: try each length the name could have.
  for (size_t length = 1; length <= 63 && placeholder + length <= repository.size(); ++length) {
    const std::string app = repository.substr(placeholder, length);
    if (IsValidAppName(app) && RepositoryFor(pattern, app) == repository) return app;
  }
  return std::nullopt;
}

std::string Rfc3339(std::chrono::system_clock::time_point when) {
  return FormatUtc(when, "%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace hephy
