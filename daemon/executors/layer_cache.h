// The buildah executor's layer cache: a buildah storage kept between jobs
// for each app, unit and platform (DIR/APP/UNIT/linux-amd64), so that a
// later job reuses the base images and the unchanged steps of earlier ones.
// An entry is never shared between apps: a layer one app's build made is
// never offered to another app's build.
//
// One job at a time holds an entry: an in-process lock (waited for with the
// job's cancel and deadline) and flock(2) on DIR/APP/UNIT/PLATFORM.lock,
// which `hephyd cache prune` in another process respects. Together the
// entries stay under a size: after each job the least recently used idle
// entries are removed until they fit.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "executors/job_process.h"
#include "hephy/executor.h"
#include "util/process.h"

namespace hephy {

struct LayerCacheKey {
  std::string app;
  std::string unit;
  std::string platform;  // "linux/arm64"

  // "APP/UNIT linux/arm64", for messages.
  std::string Name() const;
  bool operator==(const LayerCacheKey&) const = default;
};

struct LayerCacheEntry {
  LayerCacheKey key;
  uint64_t bytes = 0;  // on disk, as measured after its last job
  std::chrono::system_clock::time_point last_used;
  bool in_use = false;  // a job (or a prune) holds it right now
};

class LayerCache {
 public:
  // `max_bytes`: what the entries may hold together.
  LayerCache(std::filesystem::path dir, uint64_t max_bytes);

  // An entry held for one job; released (unlocked) when destroyed.
  class Lease {
   public:
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() = default;

    const LayerCacheKey& key() const { return key_; }
    std::filesystem::path root() const { return dir_ / "storage"; }  // buildah --root
    std::filesystem::path runroot() const { return dir_ / "run"; }   // buildah --runroot
    // Empties the entry (a storage buildah cannot read): the job goes on
    // with an empty one. Throws Error when it cannot be removed.
    void Clear();

   private:
    friend class LayerCache;
    Lease(LayerCacheKey key, std::filesystem::path dir, std::unique_lock<std::timed_mutex> turn,
          UniqueFd flock)
        : key_(std::move(key)),
          dir_(std::move(dir)),
          turn_(std::move(turn)),
          flock_(std::move(flock)) {}

    LayerCacheKey key_;
    std::filesystem::path dir_;
    std::unique_lock<std::timed_mutex> turn_;
    UniqueFd flock_;
  };

  // Waits for the entry's turn and holds it; or returns why the job gave up
  // (kCancelled, kTimedOut at `deadline`). Throws Error when the entry
  // cannot be made (a full or read-only disk).
  std::variant<Lease, PlatformJobResult> Acquire(const LayerCacheKey& key,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 const JobCancel& cancel);

  // Ends a job's use: measures the entry, marks it used now, lets it go and
  // removes the least recently used idle entries (the released one too,
  // when it alone is over the limit) until the cache fits max_bytes.
  struct Released {
    std::vector<LayerCacheEntry> evicted;
    uint64_t total_bytes = 0;  // what the entries left hold together
  };
  Released Release(Lease lease);

  // Every entry, or those of `app`, least recently used first.
  std::vector<LayerCacheEntry> List(const std::string& app = "") const;

  struct Pruned {
    std::vector<LayerCacheEntry> removed;
    std::vector<LayerCacheEntry> busy;  // in use, left alone
  };
  // Removes every idle entry, or those of `app`.
  Pruned Prune(const std::string& app = "");

  // What the entries hold together, as last measured.
  uint64_t TotalBytes() const;
  uint64_t max_bytes() const { return max_bytes_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path EntryDir(const LayerCacheKey& key) const;
  std::filesystem::path LockPath(const LayerCacheKey& key) const;
  // The entry's flock taken without waiting; an invalid fd when it is held.
  UniqueFd TryLock(const LayerCacheKey& key) const;
  // Removes an entry whose flock the caller holds; false when it could not.
  bool Remove(const LayerCacheEntry& entry) const;
  Released Evict();

  std::filesystem::path dir_;
  uint64_t max_bytes_;
  std::mutex mutex_;
  std::map<std::string, std::timed_mutex> turns_;  // by entry directory
};

// The limit builder.cache.max_size sets: its bytes, or its share of the
// filesystem holding `data_dir`.
uint64_t LayerCacheMaxBytes(const BuildCacheConfig& config, const std::filesystem::path& data_dir);

// What is on disk under `path`, in allocated blocks (0 when it is missing).
uint64_t DiskUsage(const std::filesystem::path& path);

}  // namespace hephy
