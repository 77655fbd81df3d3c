#include "executors/layer_cache.h"

#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <fstream>

#include "test_dir.h"

namespace hephy {
namespace {

using Lease = LayerCache::Lease;

class LayerCacheTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kMiB = 1 << 20;

  Lease Take(LayerCache& cache, const LayerCacheKey& key) {
    auto taken =
        cache.Acquire(key, std::chrono::steady_clock::now() + std::chrono::minutes(1), cancel_);
    if (auto* gave_up = std::get_if<PlatformJobResult>(&taken)) {
      ADD_FAILURE() << "gave up: " << gave_up->error;
    }
    return std::move(std::get<Lease>(taken));
  }

  // What a job leaves in its storage: `mib` MiB of layers.
  static void Fill(const Lease& lease, uint64_t mib) {
    std::filesystem::create_directories(lease.root());
    std::ofstream layer(lease.root() / "layer", std::ios::binary);
    const std::string block(kMiB, 'x');
    for (uint64_t i = 0; i < mib; ++i) layer << block;
  }

  static std::vector<std::string> Names(const std::vector<LayerCacheEntry>& entries) {
    std::vector<std::string> names;
    for (const auto& entry : entries) names.push_back(entry.key.Name());
    return names;
  }

  TestDir dir_;
  JobCancel cancel_;
  const LayerCacheKey web_amd64_{"web", "api", "linux/amd64"};
  const LayerCacheKey web_arm64_{"web", "api", "linux/arm64"};
  const LayerCacheKey shop_amd64_{"shop", "api", "linux/amd64"};
};

TEST_F(LayerCacheTest, EachAppUnitAndPlatformHasAStorageOfItsOwn) {
  LayerCache cache(dir_.path(), 100 * kMiB);
  std::set<std::filesystem::path> roots;
  for (const auto& key : {web_amd64_, web_arm64_, shop_amd64_}) {
    Lease lease = Take(cache, key);
    EXPECT_TRUE(lease.root().string().starts_with(dir_.path().string())) << lease.root();
    roots.insert(lease.root());
    Fill(lease, 1);
    cache.Release(std::move(lease));
  }
  EXPECT_EQ(roots.size(), 3u);
  // The same key finds what the last job left.
  Lease again = Take(cache, shop_amd64_);
  EXPECT_TRUE(roots.contains(again.root()));
  EXPECT_TRUE(std::filesystem::exists(again.root() / "layer"));
}

TEST_F(LayerCacheTest, ListsEntriesWithTheirSizeLeastRecentlyUsedFirst) {
  LayerCache cache(dir_.path(), 100 * kMiB);
  for (const auto& [key, mib] : {std::pair{web_arm64_, 2}, {shop_amd64_, 1}, {web_amd64_, 3}}) {
    Lease lease = Take(cache, key);
    Fill(lease, mib);
    cache.Release(std::move(lease));
  }
  const auto entries = cache.List();
  EXPECT_EQ(Names(entries), (std::vector<std::string>{"web/api linux/arm64", "shop/api linux/amd64",
                                                      "web/api linux/amd64"}));
  ASSERT_EQ(entries.size(), 3u);
  // Allocated blocks: the file and a few KiB of directories.
  EXPECT_GE(entries[0].bytes, 2 * kMiB);
  EXPECT_LT(entries[0].bytes, 2 * kMiB + kMiB / 4);
  EXPECT_FALSE(entries[0].in_use);
  EXPECT_EQ(Names(cache.List("web")),
            (std::vector<std::string>{"web/api linux/arm64", "web/api linux/amd64"}));
  EXPECT_EQ(cache.TotalBytes(), entries[0].bytes + entries[1].bytes + entries[2].bytes);
}

TEST_F(LayerCacheTest, OneJobAtATimeHoldsAnEntry) {
  LayerCache cache(dir_.path(), 100 * kMiB);
  Lease held = Take(cache, web_amd64_);
  EXPECT_TRUE(cache.List()[0].in_use);

  // Another job of the same entry waits; at its deadline it gives up.
  auto waited = cache.Acquire(web_amd64_, std::chrono::steady_clock::now(), cancel_);
  ASSERT_TRUE(std::holds_alternative<PlatformJobResult>(waited));
  EXPECT_EQ(std::get<PlatformJobResult>(waited).outcome, PlatformJobResult::Outcome::kTimedOut);

  // Cancelled, it gives up at once.
  JobCancel cancelled;
  cancelled.Cancel();
  auto gave_up = cache.Acquire(web_amd64_, std::chrono::steady_clock::now() + std::chrono::hours(1),
                               cancelled);
  ASSERT_TRUE(std::holds_alternative<PlatformJobResult>(gave_up));
  EXPECT_EQ(std::get<PlatformJobResult>(gave_up).outcome, PlatformJobResult::Outcome::kCancelled);

  // Other entries are free meanwhile.
  cache.Release(Take(cache, web_arm64_));
  cache.Release(std::move(held));
  EXPECT_FALSE(cache.List()[0].in_use);
  cache.Release(Take(cache, web_amd64_));
}

TEST_F(LayerCacheTest, EvictsTheLeastRecentlyUsedIdleEntriesOverTheLimit) {
  LayerCache cache(dir_.path(), 5 * kMiB);
  Lease busy = Take(cache, web_arm64_);  // the oldest, but a build holds it
  Fill(busy, 2);
  {
    Lease lease = Take(cache, shop_amd64_);
    Fill(lease, 2);
    EXPECT_TRUE(cache.Release(std::move(lease)).evicted.empty());
  }
  Lease newest = Take(cache, web_amd64_);
  Fill(newest, 2);
  // 6 MiB in three entries: the least recently used idle one goes, not the
  // older one a build holds.
  const auto released = cache.Release(std::move(newest));
  EXPECT_EQ(Names(released.evicted), std::vector<std::string>{"shop/api linux/amd64"});
  EXPECT_EQ(released.total_bytes, cache.TotalBytes());
  EXPECT_TRUE(cache.Release(std::move(busy)).evicted.empty());
  EXPECT_EQ(Names(cache.List()),
            (std::vector<std::string>{"web/api linux/amd64", "web/api linux/arm64"}));
}

TEST_F(LayerCacheTest, AnEntryLargerThanTheLimitIsRemovedAfterItsJob) {
  LayerCache cache(dir_.path(), kMiB);
  Lease lease = Take(cache, web_amd64_);
  Fill(lease, 2);
  EXPECT_EQ(Names(cache.Release(std::move(lease)).evicted),
            std::vector<std::string>{"web/api linux/amd64"});
  EXPECT_TRUE(cache.List().empty());
  EXPECT_EQ(cache.TotalBytes(), 0u);
}

TEST_F(LayerCacheTest, PruneRemovesAnAppsIdleEntriesAndKeepsThoseInUse) {
  LayerCache cache(dir_.path(), 100 * kMiB);
  for (const auto& key : {web_amd64_, shop_amd64_}) {
    Lease lease = Take(cache, key);
    Fill(lease, 1);
    cache.Release(std::move(lease));
  }
  Lease held = Take(cache, web_arm64_);
  // Another LayerCache on the same directory, as `hephyd cache prune` makes:
  // it sees the entry held through flock(2).
  LayerCache other(dir_.path(), 100 * kMiB);
  const auto pruned = other.Prune("web");
  EXPECT_EQ(Names(pruned.removed), std::vector<std::string>{"web/api linux/amd64"});
  EXPECT_EQ(Names(pruned.busy), std::vector<std::string>{"web/api linux/arm64"});
  EXPECT_GE(pruned.removed[0].bytes, kMiB);
  EXPECT_EQ(Names(cache.List("shop")), std::vector<std::string>{"shop/api linux/amd64"});

  cache.Release(std::move(held));
  EXPECT_EQ(other.Prune().removed.size(), 2u);
  EXPECT_TRUE(cache.List().empty());
}

TEST_F(LayerCacheTest, ClearEmptiesAnEntryForAFreshStart) {
  LayerCache cache(dir_.path(), 100 * kMiB);
  Lease lease = Take(cache, web_amd64_);
  Fill(lease, 1);
  lease.Clear();
  EXPECT_FALSE(std::filesystem::exists(lease.root() / "layer"));
  EXPECT_TRUE(std::filesystem::exists(lease.root().parent_path()));
}

TEST(LayerCacheMaxBytes, IsTheSizeGivenOrAShareOfTheDisk) {
  TestDir dir;
  EXPECT_EQ(LayerCacheMaxBytes({.max_size_bytes = 123 << 20}, dir.path()), 123u << 20);
  struct statvfs disk {};
  ASSERT_EQ(statvfs(dir.path().c_str(), &disk), 0);
  const uint64_t whole = static_cast<uint64_t>(disk.f_blocks) * disk.f_frsize;
  EXPECT_EQ(LayerCacheMaxBytes({.max_size_bytes = 0, .max_size_percent = 10}, dir.path()),
            whole / 100 * 10);
  // A data_dir not made yet: its nearest existing parent's disk.
  EXPECT_EQ(
      LayerCacheMaxBytes({.max_size_bytes = 0, .max_size_percent = 20}, dir.path() / "not" / "yet"),
      whole / 100 * 20);
}

}  // namespace
}  // namespace hephy
