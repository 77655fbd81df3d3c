// Reads a log file while another process appends to it, as `tail -f` does.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "util/process.h"

namespace hephy {

class LogTail {
 public:
  explicit LogTail(std::filesystem::path path) : path_(std::move(path)) {}
  LogTail(const LogTail&) = delete;
  LogTail& operator=(const LogTail&) = delete;
  LogTail(LogTail&&) = default;
  LogTail& operator=(LogTail&&) = default;

  // Calls `line` with each line completed since the last call, without its
  // '\n'. A line still being written is held back, unless `to_end` says the
  // writer is done: then it is passed on too. A file that does not exist
  // (yet) yields nothing. Throws Error naming the file when it exists but
  // cannot be read.
  void Read(const std::function<void(std::string_view)>& line, bool to_end = false);

  // Whether the file existed at the last Read.
  bool found() const { return static_cast<bool>(fd_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  UniqueFd fd_;          // open from the first Read that finds the file
  std::string partial_;  // the end of the file after its last '\n'
};

}  // namespace hephy
