#include "executors/tar_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hephy/error.h"
#include "util/process.h"

namespace hephy {
namespace {

constexpr size_t kChunk = 64 * 1024;

[[noreturn]] void Fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what + ": " + std::strerror(errno));
}

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

// libarchive writes the headers, pax records and padding (restricted pax:
// ustar, with a pax header only for what ustar cannot hold, such as names
// over 100 bytes); this side walks the tree and reads the files, so that
// a file's bytes go out as they are read.
class TarWriter {
 public:
  explicit TarWriter(const std::function<bool(std::string_view)>& write)
      : write_(write), archive_(archive_write_new(), &archive_write_free) {
    if (!archive_ || archive_write_set_format_pax_restricted(archive_.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(archive_.get(), kChunk) != ARCHIVE_OK ||
        // The end of the archive is not padded to a whole block.
        archive_write_set_bytes_in_last_block(archive_.get(), 1) != ARCHIVE_OK ||
        archive_write_open(archive_.get(), this, nullptr, &TarWriter::Write, nullptr) !=
            ARCHIVE_OK) {
      Check(ARCHIVE_FATAL);
    }
  }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;
  // An archive left unfinished (the reader went away, a file could not be
  // read) gets no end written after what went out.
  ~TarWriter() { writable_ = false; }

  // False when the reader went away.
  bool Entry(const std::string& name, mode_t type, mode_t mode, int64_t size,
             const std::string& link) {
    EntryPtr entry(archive_entry_new(), &archive_entry_free);
    archive_entry_set_pathname_utf8(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), mode & 07777);
    archive_entry_set_size(entry.get(), size);
    if (!link.empty()) archive_entry_set_symlink_utf8(entry.get(), link.c_str());
    // Owned by root, and no time: contexts come from git, which keeps none.
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    return Check(archive_write_header(archive_.get(), entry.get()));
  }

  // A file's bytes, read as they go out.
  bool Contents(const std::filesystem::path& path, int64_t size) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) Fail(path, "cannot open");
    std::vector<char> buffer(kChunk);
    int64_t sent = 0;
    while (sent < size) {
      const ssize_t n = read(fd.get(), buffer.data(),
                             static_cast<size_t>(std::min<int64_t>(kChunk, size - sent)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Fail(path, "cannot read");
      if (n == 0) {
        errno = EIO;
        Fail(path, "changed while it was sent");
      }
      if (archive_write_data(archive_.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
        return Check(ARCHIVE_FATAL);
      }
      sent += n;
    }
    return true;
  }

  // The two zero blocks that end an archive, and what is still buffered.
  bool End() { return Check(archive_write_close(archive_.get())); }

 private:
  static la_ssize_t Write(archive*, void* self, const void* bytes, size_t length) {
    auto& writer = *static_cast<TarWriter*>(self);
    if (!writer.writable_) return -1;
    if (!writer.write_({static_cast<const char*>(bytes), length})) {
      writer.writable_ = false;
      writer.reader_gone_ = true;
      return -1;
    }
    return static_cast<la_ssize_t>(length);
  }

  // True for success; false when the reader went away; else throws Error
  // with libarchive's account.
  bool Check(int status) {
    if (status >= ARCHIVE_WARN) return true;
    if (reader_gone_) return false;
    const char* reason = archive_ ? archive_error_string(archive_.get()) : nullptr;
    throw Error(std::string("cannot write the tar archive: ") +
                (reason != nullptr ? reason : "out of memory"));
  }

  const std::function<bool(std::string_view)>& write_;
  ArchivePtr archive_;
  bool writable_ = true;
  bool reader_gone_ = false;
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
      if (!tar.Entry(entry + "/", AE_IFDIR, st.st_mode, 0, "")) return false;
      if (!StreamTree(tar, path, entry + "/")) return false;
    } else if (S_ISREG(st.st_mode)) {
      if (!tar.Entry(entry, AE_IFREG, st.st_mode, st.st_size, "") ||
          !tar.Contents(path, st.st_size)) {
        return false;
      }
    } else if (S_ISLNK(st.st_mode)) {
      if (!tar.Entry(entry, AE_IFLNK, 0777, 0, std::filesystem::read_symlink(path).string())) {
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
