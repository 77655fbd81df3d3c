#include "build/image_tags.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

// 2026-11-25 08:10:00 UTC.
const auto kWhen = std::chrono::system_clock::from_time_t(1795594200);

TEST(ImageTags, DefaultTagIsUnitDateAndShortCommit) {
  const UnitTags tags = TagsFor("web", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", kWhen, {});
  EXPECT_EQ(tags.default_tag, "web-20261125-a1b2c3d");
  EXPECT_EQ(tags.index_tags, std::vector<std::string>{"web-20261125-a1b2c3d"});
}

TEST(ImageTags, AdditionalTagsArePrefixedWithTheUnit) {
  const UnitTags tags = TagsFor("kaniko-debug", "0123456789abcdef0123456789abcdef01234567", kWhen,
                                {"debug", "v1.25.3"});
  EXPECT_EQ(tags.index_tags,
            (std::vector<std::string>{"kaniko-debug-20261125-0123456", "kaniko-debug-debug",
                                      "kaniko-debug-v1.25.3"}));
}

TEST(ImageTags, TheDateIsTheUtcDay) {
  // 2026-11-25 23:59:59 UTC is already the 26th east of Greenwich.
  const auto late = std::chrono::system_clock::from_time_t(1795651199);
  EXPECT_EQ(TagsFor("web", std::string(40, 'f'), late, {}).default_tag, "web-20261125-fffffff");
  EXPECT_EQ(TagsFor("web", std::string(40, 'f'), late + std::chrono::seconds(1), {}).default_tag,
            "web-20261126-fffffff");
}

TEST(ImageTags, ArchTagKeepsTheVariant) {
  EXPECT_EQ(ArchTag("web-20261125-a1b2c3d", "linux/arm64"), "web-20261125-a1b2c3d-arm64");
  EXPECT_EQ(ArchTag("web-20261125-a1b2c3d", "linux/amd64"), "web-20261125-a1b2c3d-amd64");
  EXPECT_EQ(ArchTag("web-20261125-a1b2c3d", "linux/arm/v7"), "web-20261125-a1b2c3d-armv7");
}

TEST(ImageTags, ArchTagNamesSystemsOtherThanLinux) {
  EXPECT_EQ(ArchTag("hello-20261125-a1b2c3d", "wasi/wasm"), "hello-20261125-a1b2c3d-wasi-wasm");
  EXPECT_EQ(ArchTag("hello-20261125-a1b2c3d", "wasip1/wasm"), "hello-20261125-a1b2c3d-wasip1-wasm");
}

TEST(ImageTags, RepositoryReplacesEveryAppPlaceholder) {
  EXPECT_EQ(RepositoryFor("{app}", "web"), "web");
  EXPECT_EQ(RepositoryFor("tools", "web"), "tools");
  EXPECT_EQ(RepositoryFor("team/{app}/{app}", "web"), "team/web/web");
}

TEST(ImageTags, EachAppHasACacheRepositoryOfItsOwn) {
  EXPECT_EQ(CacheRepositoryFor("{app}", "web"), "web/cache");
  EXPECT_EQ(CacheRepositoryFor("apps/{app}", "web"), "apps/web/cache");
  EXPECT_EQ(CacheRepositoryFor("tools", "web"), "tools/cache/web");
  EXPECT_EQ(CacheRepositoryFor("tools", "api"), "tools/cache/api");
  // Never an app's image repository.
  EXPECT_EQ(AppOfRepository("{app}", CacheRepositoryFor("{app}", "web")), std::nullopt);
}

TEST(ImageTags, AppOfRepositoryUndoesRepositoryFor) {
  EXPECT_EQ(AppOfRepository("{app}", "web"), "web");
  EXPECT_EQ(AppOfRepository("team/{app}/{app}", "team/web-2/web-2"), "web-2");
  EXPECT_EQ(AppOfRepository("apps/{app}", "apps/a"), "a");
}

TEST(ImageTags, AppOfRepositoryIsNoneForOtherRepositories) {
  EXPECT_EQ(AppOfRepository("tools", "tools"), std::nullopt);  // shared by every app
  EXPECT_EQ(AppOfRepository("apps/{app}", "other/web"), std::nullopt);
  EXPECT_EQ(AppOfRepository("apps/{app}", "apps/"), std::nullopt);
  EXPECT_EQ(AppOfRepository("team/{app}/{app}", "team/web/api"), std::nullopt);
  EXPECT_EQ(AppOfRepository("{app}", "apps/web"), std::nullopt);  // '/' is in no app name
  EXPECT_EQ(AppOfRepository("{app}", "Web"), std::nullopt);
}

TEST(ImageTags, Rfc3339IsUtc) { EXPECT_EQ(Rfc3339(kWhen), "2026-11-25T08:10:00Z"); }

}  // namespace
}  // namespace hephy
