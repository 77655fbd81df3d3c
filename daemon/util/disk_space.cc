#include "util/disk_space.h"

#include <sys/statvfs.h>

namespace hephy {

DiskSpace DiskSpaceOf(const std::filesystem::path& path) {
  struct statvfs disk {};
  std::filesystem::path at = std::filesystem::absolute(path);
  while (statvfs(at.c_str(), &disk) != 0) {
    if (!at.has_parent_path() || at == at.parent_path()) return {};
    at = at.parent_path();
  }
  return {.total = static_cast<uint64_t>(disk.f_blocks) * disk.f_frsize,
          .available = static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize};
}

}  // namespace hephy
