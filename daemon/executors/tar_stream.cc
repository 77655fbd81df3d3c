#include "executors/tar_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "hephy/error.h"
#include "util/process.h"

namespace hephy {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kChunk = 64 * 1024;

[[noreturn]] void Fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what + ": " + std::strerror(errno));
}

// An octal field of `width` bytes, NUL-terminated; callers keep values small
// enough.
void PutOctal(char* field, size_t width, unsigned long long value) {
  const std::string digits = [&] {
    std::string text;
    do {
      text.insert(text.begin(), static_cast<char>('0' + (value & 7)));
      value >>= 3;
    } while (value != 0);
    return text;
  }();
  std::memset(field, '0', width - 1 - digits.size());
  std::memcpy(field + width - 1 - digits.size(), digits.data(), digits.size());
  field[width - 1] = '\0';
}

// One pax record: "LEN key=value\n", where LEN counts its own digits.
std::string PaxRecord(const std::string& key, const std::string& value) {
  const size_t body = 1 + key.size() + 1 + value.size() + 1;  // ' ' key '=' value '\n'
  size_t length = body + 1;
  while (std::to_string(length).size() + body != length) ++length;
  return std::to_string(length) + " " + key + "=" + value + "\n";
}

class TarWriter {
 public:
  explicit TarWriter(const std::function<bool(std::string_view)>& write) : write_(write) {}

  bool Entry(const std::string& name, char type, mode_t mode, unsigned long long size,
             const std::string& link) {
    // ustar holds names of up to 100 bytes and sizes below 8 GiB (11 octal
    // digits); what does not fit goes in a pax header before the entry.
    const bool big = size >= (1ULL << 33);
    std::string pax;
    if (name.size() > 100) pax += PaxRecord("path", name);
    if (link.size() > 100) pax += PaxRecord("linkpath", link);
    if (big) pax += PaxRecord("size", std::to_string(size));
    if (!pax.empty()) {
      if (!Header("././@PaxHeader", 'x', 0644, pax.size(), "")) return false;
      if (!Data(pax) || !Pad(pax.size())) return false;
    }
    return Header(name.substr(0, 100), type, mode, big ? 0 : size, link.substr(0, 100));
  }

  // A file's bytes, read as they go out.
  bool Contents(const std::filesystem::path& path, unsigned long long size) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) Fail(path, "cannot open");
    std::vector<char> buffer(kChunk);
    unsigned long long sent = 0;
    while (sent < size) {
      const ssize_t n = read(fd.get(), buffer.data(), std::min<size_t>(kChunk, size - sent));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Fail(path, "cannot read");
      if (n == 0) {
        errno = EIO;
        Fail(path, "changed while it was sent");
      }
      if (!Data({buffer.data(), static_cast<size_t>(n)})) return false;
      sent += static_cast<unsigned long long>(n);
    }
    return Pad(size);
  }

  bool End() { return Data(std::string(2 * kBlock, '\0')) && Flush(); }

 private:
  bool Header(const std::string& name, char type, mode_t mode, unsigned long long size,
              const std::string& link) {
    std::array<char, kBlock> h{};
    std::memcpy(&h[0], name.data(), name.size());
    PutOctal(&h[100], 8, mode & 07777);
    PutOctal(&h[108], 8, 0);  // uid
    PutOctal(&h[116], 8, 0);  // gid
    PutOctal(&h[124], 12, size);
    PutOctal(&h[136], 12, 0);  // mtime: contexts come from git, which keeps none
    std::memset(&h[148], ' ', 8);
    h[156] = type;
    std::memcpy(&h[157], link.data(), link.size());
    std::memcpy(&h[257], "ustar", 6);
    std::memcpy(&h[263], "00", 2);
    unsigned sum = 0;
    for (const char c : h) sum += static_cast<unsigned char>(c);
    PutOctal(&h[148], 7, sum);
    h[155] = ' ';
    return Data({h.data(), h.size()});
  }

  bool Pad(unsigned long long size) {
    const size_t rest = size % kBlock;
    return rest == 0 || Data(std::string(kBlock - rest, '\0'));
  }

  // Gathers small pieces into chunks of about kChunk.
  bool Data(std::string_view bytes) {
    buffer_.append(bytes);
    return buffer_.size() < kChunk || Flush();
  }

  bool Flush() {
    if (buffer_.empty()) return true;
    const bool ok = write_(buffer_);
    buffer_.clear();
    return ok;
  }

  const std::function<bool(std::string_view)>& write_;
  std::string buffer_;
};

bool StreamTree(TarWriter& tar, const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) {
    errno = ec.value();
    Fail(dir, "cannot list");
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const auto path = dir / name;
    const std::string entry = prefix + name;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) Fail(path, "cannot read");
    if (S_ISDIR(st.st_mode)) {
      if (!tar.Entry(entry + "/", '5', st.st_mode, 0, "")) return false;
      if (!StreamTree(tar, path, entry + "/")) return false;
    } else if (S_ISREG(st.st_mode)) {
      const auto size = static_cast<unsigned long long>(st.st_size);
      if (!tar.Entry(entry, '0', st.st_mode, size, "") || !tar.Contents(path, size)) return false;
    } else if (S_ISLNK(st.st_mode)) {
      if (!tar.Entry(entry, '2', 0777, 0, std::filesystem::read_symlink(path).string())) {
        return false;
      }
    } else {
      throw Error(path.string() + ": neither a file, a directory nor a symbolic link");
    }
  }
  return true;
}

}  // namespace

bool StreamTar(const std::filesystem::path& dir,
               const std::function<bool(std::string_view bytes)>& write) {
  TarWriter tar(write);
  return StreamTree(tar, dir, "") && tar.End();
}

}  // namespace hephy
