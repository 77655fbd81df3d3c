#include "build/retention.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

using std::chrono::days;
using std::chrono::system_clock;

const system_clock::time_point kNow = system_clock::from_time_t(1'800'000'000);

RetentionConfig Keep(int days, int builds) {
  return {.builds_days = days, .builds_keep = builds, .images_keep = 20, .daily = true};
}

TEST(ExpiredBuilds, GoOnlyWhenBothOldAndBeyondTheNewestOfTheirApp) {
  std::vector<BuildRecordAge> builds;
  // web: ids 1..5, the first three 100 days old, the last two 10 days old.
  for (int64_t id = 1; id <= 5; ++id) {
    builds.push_back({id, "web", "succeeded", kNow - days(id <= 3 ? 100 : 10)});
  }
  // api: one old build, its only one.
  builds.push_back({6, "api", "failed", kNow - days(400)});

  // Keep 2: web 1..3 are beyond and old; api 6 is among its newest.
  EXPECT_EQ(ExpiredBuilds(builds, Keep(90, 2), kNow), (std::vector<int64_t>{1, 2, 3}));
  // Keep 1: web 4 is beyond but young, so it stays.
  EXPECT_EQ(ExpiredBuilds(builds, Keep(90, 1), kNow), (std::vector<int64_t>{1, 2, 3}));
  // Keep 4: only web 1 is beyond.
  EXPECT_EQ(ExpiredBuilds(builds, Keep(90, 4), kNow), (std::vector<int64_t>{1}));
  // Age alone: nothing is younger than 0 days, keep 0 keeps none by count.
  EXPECT_EQ(ExpiredBuilds(builds, Keep(0, 0), kNow), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  // Nothing is older than 500 days.
  EXPECT_TRUE(ExpiredBuilds(builds, Keep(500, 0), kNow).empty());
}

TEST(ExpiredBuilds, NeverAQueuedOrRunningBuild) {
  const std::vector<BuildRecordAge> builds = {
      {1, "web", "running", kNow - days(300)},   {2, "web", "queued", kNow - days(300)},
      {3, "web", "cancelled", kNow - days(300)}, {4, "web", "interrupted", kNow - days(300)},
      {5, "web", "succeeded", kNow - days(1)},
  };
  EXPECT_EQ(ExpiredBuilds(builds, Keep(90, 0), kNow), (std::vector<int64_t>{3, 4}));
  // A running build counts among the newest: keep 4 keeps 2..5, and 1 runs.
  EXPECT_TRUE(ExpiredBuilds(builds, Keep(90, 4), kNow).empty());
}

TEST(DatedTags, AreUnitDateAndShortSha) {
  const auto dated = ParseDatedTag("my-web-20261125-1a2b3c4");
  ASSERT_TRUE(dated);
  EXPECT_EQ(dated->unit, "my-web");
  EXPECT_EQ(dated->date, "20261125");
  EXPECT_FALSE(ParseDatedTag("web-latest"));
  EXPECT_FALSE(ParseDatedTag("web-v1.2.3"));
  EXPECT_FALSE(ParseDatedTag("web-20261125-1a2b3c4-arm64"));
  EXPECT_FALSE(ParseDatedTag("web-2026112-1a2b3c4"));
  EXPECT_FALSE(ParseDatedTag("web-20261125-1A2B3C4"));

  const std::vector<std::string> tags = {
      "web-20261125-1a2b3c4",           "web-20261125-1a2b3c4-amd64", "web-20261125-1a2b3c4-arm64",
      "web-20261125-1a2b3c4-wasi-wasm", "web-20261126-5e6f7a8",       "web-latest"};
  EXPECT_EQ(ArchTagsOf("web-20261125-1a2b3c4", tags),
            (std::vector<std::string>{"web-20261125-1a2b3c4-amd64", "web-20261125-1a2b3c4-arm64",
                                      "web-20261125-1a2b3c4-wasi-wasm"}));
  EXPECT_TRUE(ArchTagsOf("web-20261126-5e6f7a8", tags).empty());
}

DatedImage Image(const std::string& unit, const std::string& date, char sha) {
  const std::string tag = unit + "-" + date + "-" + std::string(7, sha);
  return {.tag = tag,
          .unit = unit,
          .date = date,
          .created = "",
          .build = 0,
          .digest = "sha256:index-" + tag,
          .children = {"sha256:amd64-" + tag, "sha256:arm64-" + tag},
          .arch_tags = {{tag + "-amd64", "sha256:amd64-" + tag},
                        {tag + "-arm64", "sha256:arm64-" + tag}}};
}

std::vector<std::string> Tags(const std::vector<ImageSelection::Removal>& removals) {
  std::vector<std::string> tags;
  for (const auto& removal : removals) tags.push_back(removal.tag);
  return tags;
}

TEST(ExpiredImages, KeepTheNewestOfEachUnitAndDeleteTheRestWithTheirArchManifests) {
  const std::vector<DatedImage> images = {
      Image("web", "20261101", 'a'), Image("web", "20261103", 'c'), Image("web", "20261102", 'b'),
      Image("api", "20260101", 'd'), Image("api", "20261201", 'e')};
  const ImageSelection selection = ExpiredImages(images, {}, 1);
  EXPECT_EQ(Tags(selection.remove),
            (std::vector<std::string>{"api-20260101-ddddddd", "web-20261101-aaaaaaa",
                                      "web-20261102-bbbbbbb"}));
  EXPECT_EQ(selection.remove[1].digests,
            (std::vector<std::string>{"sha256:index-web-20261101-aaaaaaa",
                                      "sha256:amd64-web-20261101-aaaaaaa",
                                      "sha256:arm64-web-20261101-aaaaaaa"}));
  EXPECT_TRUE(selection.kept_referenced.empty());
  EXPECT_EQ(Tags(ExpiredImages(images, {}, 2).remove),
            (std::vector<std::string>{"web-20261101-aaaaaaa"}));
  // 0: images are never pruned.
  EXPECT_TRUE(ExpiredImages(images, {}, 0).remove.empty());
}

TEST(ExpiredImages, AnImageAnAdditionalTagNamesStays) {
  const std::vector<DatedImage> images = {
      Image("web", "20261101", 'a'), Image("web", "20261102", 'b'), Image("web", "20261103", 'c')};
  // web-latest names the oldest, as after a rollback.
  const std::set<std::string> referenced = {"sha256:index-web-20261101-aaaaaaa",
                                            "sha256:amd64-web-20261101-aaaaaaa",
                                            "sha256:arm64-web-20261101-aaaaaaa"};
  const ImageSelection selection = ExpiredImages(images, referenced, 1);
  EXPECT_EQ(Tags(selection.remove), (std::vector<std::string>{"web-20261102-bbbbbbb"}));
  EXPECT_EQ(selection.kept_referenced, (std::vector<std::string>{"web-20261101-aaaaaaa"}));
}

TEST(ExpiredImages, AManifestAKeptImageSharesIsNeverDeleted) {
  DatedImage old_image = Image("web", "20261101", 'a');
  DatedImage kept = Image("web", "20261102", 'b');
  // Both indexes reference the same arm64 image (an unchanged platform).
  kept.children[1] = old_image.children[1];
  kept.arch_tags[kept.tag + "-arm64"] = old_image.children[1];
  const ImageSelection selection = ExpiredImages({old_image, kept}, {}, 1);
  ASSERT_EQ(selection.remove.size(), 1u);
  EXPECT_EQ(selection.remove[0].digests,
            (std::vector<std::string>{old_image.digest, old_image.children[0]}));

  // An additional tag naming an arch image of an old index keeps that one.
  const ImageSelection by_child = ExpiredImages({Image("web", "20261101", 'a'), kept},
                                                {"sha256:amd64-web-20261101-aaaaaaa"}, 1);
  ASSERT_EQ(by_child.remove.size(), 1u);
  EXPECT_EQ(by_child.remove[0].digests,
            (std::vector<std::string>{"sha256:index-web-20261101-aaaaaaa"}));
}

TEST(ExpiredImages, SameSecondImagesAreOrderedByTheirBuild) {
  DatedImage earlier = Image("web", "20261101", 'f');
  earlier.build = 7;
  DatedImage later = Image("web", "20261101", 'a');
  later.build = 8;
  EXPECT_EQ(Tags(ExpiredImages({later, earlier}, {}, 1).remove),
            (std::vector<std::string>{"web-20261101-fffffff"}));
}

TEST(ExpiredImages, SameDayImagesAreOrderedByTheirCreationTime) {
  DatedImage morning = Image("web", "20261101", 'f');
  morning.created = "2026-11-01T08:00:00Z";
  DatedImage evening = Image("web", "20261101", 'a');
  evening.created = "2026-11-01T20:00:00Z";
  EXPECT_EQ(Tags(ExpiredImages({morning, evening}, {}, 1).remove),
            (std::vector<std::string>{"web-20261101-fffffff"}));
}

}  // namespace
}  // namespace hephy
