#include "executors/layer_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "hephy/error.h"
#include "util/disk_space.h"
#include "util/names.h"

namespace hephy {
namespace {

// The entry's record of its last job: its size in bytes; its mtime is when.
constexpr char kUsageFile[] = "usage";

std::chrono::system_clock::time_point SystemTime(std::filesystem::file_time_type time) {
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      time - std::filesystem::file_time_type::clock::now() + std::chrono::system_clock::now());
}

UniqueFd OpenLock(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
  return fd;
}

}  // namespace

std::string LayerCacheKey::Name() const { return app + "/" + unit + " " + platform; }

void LayerCache::Lease::Clear() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) throw Error("layer cache " + dir_.string() + ": cannot empty it: " + ec.message());
  std::filesystem::create_directories(dir_);
}

LayerCache::LayerCache(std::filesystem::path dir, uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {}

std::filesystem::path LayerCache::EntryDir(const LayerCacheKey& key) const {
  return dir_ / key.app / key.unit / DashedPlatform(key.platform);
}

// Beside the entry, not in it: removing an entry never removes a lock that
// another process may be waiting on.
std::filesystem::path LayerCache::LockPath(const LayerCacheKey& key) const {
  return dir_ / key.app / key.unit / (DashedPlatform(key.platform) + ".lock");
}

UniqueFd LayerCache::TryLock(const LayerCacheKey& key) const {
  UniqueFd fd = OpenLock(LockPath(key));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return {};
  return fd;
}

std::variant<LayerCache::Lease, PlatformJobResult> LayerCache::Acquire(
    const LayerCacheKey& key, std::chrono::steady_clock::time_point deadline,
    const JobCancel& cancel) {
  const std::filesystem::path entry = EntryDir(key);
  std::timed_mutex* turn_mutex;
  {
    const std::lock_guard lock(mutex_);
    turn_mutex = &turns_[entry.string()];
  }
  std::unique_lock turn(*turn_mutex, std::defer_lock);
  if (auto gave_up = WaitForTurn(turn, deadline, cancel)) return *gave_up;
  // Only another process's prune holds it now, and not for long.
  UniqueFd fd = OpenLock(LockPath(key));
  while (flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw Error(LockPath(key).string() + ": " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::create_directories(entry, ec);
  if (ec) throw Error("layer cache " + entry.string() + ": cannot create it: " + ec.message());
  return Lease(key, entry, std::move(turn), std::move(fd));
}

LayerCache::Released LayerCache::Release(Lease lease) {
  {
    const Lease held = std::move(lease);
    std::ofstream usage(held.dir_ / kUsageFile, std::ios::trunc);
    usage << DiskUsage(held.dir_) << '\n';
  }
  return Evict();
}

std::vector<LayerCacheEntry> LayerCache::List(const std::string& app) const {
  std::vector<LayerCacheEntry> entries;
  std::error_code ec;
  for (const auto& app_dir : std::filesystem::directory_iterator(dir_, ec)) {
    std::error_code kind;
    if (!app_dir.is_directory(kind) || (!app.empty() && app_dir.path().filename() != app)) continue;
    for (const auto& unit_dir : std::filesystem::directory_iterator(app_dir.path(), ec)) {
      if (!unit_dir.is_directory(kind)) continue;
      for (const auto& platform_dir : std::filesystem::directory_iterator(unit_dir.path(), ec)) {
        if (!platform_dir.is_directory(kind)) continue;
        LayerCacheEntry entry{
            .key = {.app = app_dir.path().filename(),
                    .unit = unit_dir.path().filename(),
                    .platform = PlatformOfDashed(platform_dir.path().filename().string())}};
        const auto usage = platform_dir.path() / kUsageFile;
        std::ifstream in(usage);
        if (!(in >> entry.bytes)) entry.bytes = DiskUsage(platform_dir.path());
        std::error_code time_ec;
        const auto written = std::filesystem::last_write_time(usage, time_ec);
        entry.last_used = SystemTime(
            time_ec ? std::filesystem::last_write_time(platform_dir.path(), time_ec) : written);
        entry.in_use = !TryLock(entry.key);
        entries.push_back(std::move(entry));
      }
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.last_used < b.last_used; });
  return entries;
}

uint64_t LayerCache::TotalBytes() const {
  uint64_t total = 0;
  for (const auto& entry : List()) total += entry.bytes;
  return total;
}

bool LayerCache::Remove(const LayerCacheEntry& entry) const {
  std::error_code ec;
  std::filesystem::remove_all(EntryDir(entry.key), ec);
  return !ec;
}

LayerCache::Pruned LayerCache::Prune(const std::string& app) {
  Pruned pruned;
  for (auto& entry : List(app)) {
    const UniqueFd held = TryLock(entry.key);
    if (!held) {
      pruned.busy.push_back(std::move(entry));
    } else if (Remove(entry)) {
      pruned.removed.push_back(std::move(entry));
    }
  }
  return pruned;
}

LayerCache::Released LayerCache::Evict() {
  Released released;
  const auto entries = List();
  for (const auto& entry : entries) released.total_bytes += entry.bytes;
  for (const auto& entry : entries) {
    if (released.total_bytes <= max_bytes_) break;
    const UniqueFd held = TryLock(entry.key);
    if (!held || !Remove(entry)) continue;
    released.total_bytes -= entry.bytes;
    released.evicted.push_back(entry);
  }
  return released;
}

uint64_t LayerCacheMaxBytes(const BuildCacheConfig& config, const std::filesystem::path& data_dir) {
  if (config.max_size_bytes != 0) return config.max_size_bytes;
  return DiskSpaceOf(data_dir).total / 100 * static_cast<uint64_t>(config.max_size_percent);
}

uint64_t DiskUsage(const std::filesystem::path& path) {
  uint64_t bytes = 0;
  std::error_code ec;
  const auto add = [&](const std::filesystem::path& file) {
    struct stat info {};
    if (lstat(file.c_str(), &info) == 0) bytes += static_cast<uint64_t>(info.st_blocks) * 512;
  };
  add(path);
  for (std::filesystem::recursive_directory_iterator
           it(path, std::filesystem::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    add(it->path());
  }
  return bytes;
}

}  // namespace hephy
