// How big the filesystem holding a path is, how much of it is free, and what
// a push is told about it: before it starts (serve.min_free_space) and when
// it ran out (ENOSPC).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace hephy {

struct DiskSpace {
  uint64_t total = 0;      // bytes
  uint64_t available = 0;  // bytes an unprivileged process may still write
};

// Of the filesystem holding `path`, or its nearest existing parent (a
// data_dir not made yet); zeros when none can be read.
DiskSpace DiskSpaceOf(const std::filesystem::path& path);

// "812 KiB", "64.0 MiB", "1.5 GiB".
std::string FormatBytes(uint64_t bytes);

// Throws Error when the filesystem holding `data_dir` has less than
// `least` bytes free (0: never): "too little space left on DATA_DIR (N MiB
// free, serve.min_free_space is M MiB); pushes are refused until space is
// freed".
void RequireFreeSpaceForPush(const std::filesystem::path& data_dir, uint64_t least);

// "hephyd: no space left on DATA_DIR (N MiB free)", without a newline.
std::string NoSpaceLeftMessage(const std::filesystem::path& data_dir);

// Whether `text` (a process's output, an error message) says a disk was
// full: ENOSPC's words, or SQLite's.
bool SaysNoSpaceLeft(std::string_view text);

}  // namespace hephy
