#include "store/data_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "hephy/error.h"

namespace hephy {

void MakePrivateDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
  if (chmod(dir.c_str(), 0700) != 0) {
    throw Error(dir.string() + ": cannot restrict permissions: " + std::strerror(errno));
  }
}

}  // namespace hephy
