#include "hephy/hook_protocol.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>

namespace hephy::hook {

std::string Packet(std::string_view payload) {
  payload = payload.substr(0, kMaxPayload);
  char header[5];
  std::snprintf(header, sizeof header, "%04zx", payload.size() + 4);
  return std::string(header, 4) + std::string(payload);
}

bool PacketReader::Fill(size_t wanted) {
  char chunk[8192];
  while (buffer_.size() < wanted) {
    const ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, n);
  }
  return true;
}

int PacketLength(std::string_view header) {
  if (header.size() < 4) return -1;
  int length = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = header[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) return -1;
    length = length * 16 + digit;
  }
  return length;
}

std::optional<std::string> PacketReader::Next() {
  if (!Fill(4)) throw std::runtime_error("connection closed");
  const int header = PacketLength(buffer_);
  if (header < 0) throw std::runtime_error("malformed packet header");
  const size_t length = header;
  if (length == 0) {
    buffer_.erase(0, 4);
    return std::nullopt;
  }
  if (length < 4) throw std::runtime_error("malformed packet length");
  if (!Fill(length)) throw std::runtime_error("connection closed inside a packet");
  std::string payload = buffer_.substr(4, length - 4);
  buffer_.erase(0, length);
  return payload;
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

}  // namespace hephy::hook
