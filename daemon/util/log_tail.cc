#include "util/log_tail.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hephy/error.h"

namespace hephy {

void LogTail::Read(const std::function<void(std::string_view)>& line, bool to_end) {
  if (!fd_) {
    const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return;
      throw Error(path_.string() + ": cannot open log: " + std::strerror(errno));
    }
    fd_.Reset(fd);
  }
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = read(fd_.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path_.string() + ": cannot read log: " + std::strerror(errno));
    if (n == 0) break;
    std::string_view chunk(buffer, static_cast<size_t>(n));
    for (size_t newline; (newline = chunk.find('\n')) != std::string_view::npos;) {
      if (partial_.empty()) {
        line(chunk.substr(0, newline));
      } else {
        partial_.append(chunk.substr(0, newline));
        line(partial_);
        partial_.clear();
      }
      chunk.remove_prefix(newline + 1);
    }
    partial_.append(chunk);
  }
  if (to_end && !partial_.empty()) {
    line(partial_);
    partial_.clear();
  }
}

}  // namespace hephy
