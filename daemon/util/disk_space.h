// How big the filesystem holding a path is, and how much of it is free.
#pragma once

#include <cstdint>
#include <filesystem>

namespace hephy {

struct DiskSpace {
  uint64_t total = 0;      // bytes
  uint64_t available = 0;  // bytes an unprivileged process may still write
};

// Of the filesystem holding `path`, or its nearest existing parent (a
// data_dir not made yet); zeros when none can be read.
DiskSpace DiskSpaceOf(const std::filesystem::path& path);

}  // namespace hephy
