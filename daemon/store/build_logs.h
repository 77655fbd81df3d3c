// Where build logs live. A job's log file holds its output lines exactly as
// the build printed them, without any prefix, one per line; the builder
// appends and flushes each line as it comes, and `hephyd logs` reads them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace hephy {

// logs_dir/<build id>: the directory of one build's logs. The builder creates
// it; nothing else does.
std::filesystem::path BuildLogDir(const std::filesystem::path& logs_dir, int64_t build_id);

// logs_dir/<build id>/<platform with '/' replaced by '-'>.log, e.g.
// logs/42/linux-arm64.log. `platform` is expected to be valid
// (IsValidPlatform); it is not checked here.
std::filesystem::path BuildLogPath(const std::filesystem::path& logs_dir, int64_t build_id,
                                   const std::string& platform);

}  // namespace hephy
