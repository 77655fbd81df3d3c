#include "util/disk_space.h"

#include <sys/statvfs.h>

#include <cstdio>

#include "hephy/error.h"
#include "util/ascii.h"

namespace hephy {
namespace {

std::string MiB(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

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

std::string FormatBytes(uint64_t bytes) {
  if (bytes < (1u << 20)) return std::to_string(bytes >> 10) + " KiB";
  const bool gib = bytes >= (1u << 30);
  const double value = static_cast<double>(bytes) / static_cast<double>(gib ? 1u << 30 : 1u << 20);
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, gib ? "GiB" : "MiB");
  return text;
}

void RequireFreeSpaceForPush(const std::filesystem::path& data_dir, uint64_t least) {
  if (least == 0) return;
  const uint64_t free = DiskSpaceOf(data_dir).available;
  if (free >= least) return;
  throw Error("too little space left on " + data_dir.string() + " (" + MiB(free) +
              " free, serve.min_free_space is " + MiB(least) +
              "); pushes are refused until space is freed");
}

std::string NoSpaceLeftMessage(const std::filesystem::path& data_dir) {
  return "hephyd: no space left on " + data_dir.string() + " (" +
         MiB(DiskSpaceOf(data_dir).available) + " free)";
}

bool SaysNoSpaceLeft(std::string_view text) {
  const std::string lower = AsciiLower(text);
  return lower.find("no space left on device") != std::string::npos ||
         lower.find("database or disk is full") != std::string::npos;
}

}  // namespace hephy
