// The data directory holds host keys, the database and every repository:
// it is private to the user hephyd runs as.
#pragma once

#include <filesystem>

namespace hephy {

// Creates `dir` (and parents) if missing and restricts it to its owner.
// Throws Error naming the directory.
void MakePrivateDirectory(const std::filesystem::path& dir);

}  // namespace hephy
