// A directory as a POSIX tar archive (pax headers where ustar's fields are too
// small), produced piece by piece as it is sent: a build context goes to a
// build pod without a copy of it on disk or in memory.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace hephy {

// Writes the tree under `dir` (directories, regular files with their mode,
// symbolic links as links) to `write`, in name order, with paths relative to
// `dir`, owned by root; then the two zero blocks that end an archive. Returns
// false as soon as `write` does (the reader went away). Throws Error naming
// the path that cannot be read, or that is neither file, directory nor link.
bool StreamTar(const std::filesystem::path& dir,
               const std::function<bool(std::string_view bytes)>& write);

}  // namespace hephy
