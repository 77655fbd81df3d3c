// Files only hephyd's user may read: credentials handed to a build, the
// registry's token signing key.
#pragma once

#include <filesystem>
#include <string>

namespace hephy {

// Writes `text` to a new file only hephyd's user can read: created 0600,
// never through an existing file or link. Throws Error naming the file.
void WritePrivateFile(const std::filesystem::path& path, const std::string& text);

}  // namespace hephy
