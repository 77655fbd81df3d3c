#include "hephy/image_tags.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

// 2026-11-25 08:10:00 UTC.
const auto kWhen = std::chrono::system_clock::from_time_t(1795594200);

TEST(ImageTags, DefaultTagIsUnitDateAndShortCommit) {
  const UnitTags tags = TagsFor("web", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", kWhen);
  EXPECT_EQ(tags.default_tag, "web-20261125-a1b2c3d");
  EXPECT_EQ(tags.index_tags, (std::vector<std::string>{"web-20261125-a1b2c3d", "web-latest"}));
}

TEST(ImageTags, ArchTagKeepsTheVariant) {
  EXPECT_EQ(ArchTag("web-20261125-a1b2c3d", "linux/arm64"), "web-20261125-a1b2c3d-arm64");
  EXPECT_EQ(ArchTag("web-20261125-a1b2c3d", "linux/amd64"), "web-20261125-a1b2c3d-amd64");
  EXPECT_EQ(ArchTag("web-20261125-a1b2c3d", "linux/arm/v7"), "web-20261125-a1b2c3d-armv7");
}

TEST(ImageTags, RepositoryReplacesEveryAppPlaceholder) {
  EXPECT_EQ(RepositoryFor("{app}", "web"), "web");
  EXPECT_EQ(RepositoryFor("tools", "web"), "tools");
  EXPECT_EQ(RepositoryFor("team/{app}/{app}", "web"), "team/web/web");
}

TEST(ImageTags, Rfc3339IsUtc) { EXPECT_EQ(Rfc3339(kWhen), "2026-11-25T08:10:00Z"); }

}  // namespace
}  // namespace hephy
