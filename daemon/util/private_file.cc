#include "util/private_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hephy/error.h"
#include "util/process.h"

namespace hephy {

void WritePrivateFile(const std::filesystem::path& path, const std::string& text) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throw Error(path.string() + ": cannot create: " + std::strerror(errno));
  for (size_t written = 0; written < text.size();) {
    const ssize_t n = write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path.string() + ": cannot write: " + std::strerror(errno));
    written += static_cast<size_t>(n);
  }
}

}  // namespace hephy
