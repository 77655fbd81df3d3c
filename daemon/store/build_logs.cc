#include "store/build_logs.h"

#include "util/names.h"

namespace hephy {

std::filesystem::path BuildLogDir(const std::filesystem::path& logs_dir, int64_t build_id) {
  return logs_dir / std::to_string(build_id);
}

std::filesystem::path BuildLogPath(const std::filesystem::path& logs_dir, int64_t build_id,
                                   const std::string& platform) {
  return BuildLogDir(logs_dir, build_id) / (DashedPlatform(platform) + ".log");
}

}  // namespace hephy
