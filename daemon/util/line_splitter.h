// Cuts a byte stream into lines as it arrives, for output that is shown and
// stored line by line (build logs).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace hephy {

class LineSplitter {
 public:
  // A line longer than this is handed on in pieces, so a program that never
  // prints a newline cannot grow the buffer without bound.
  static constexpr size_t kMaxLine = 16 * 1024;

  explicit LineSplitter(std::function<void(std::string_view)> on_line)
      : on_line_(std::move(on_line)) {}

  // Hands on every complete line in `bytes`, without "\n" or a trailing "\r".
  void Feed(std::string_view bytes);
  // Hands on what is left after the last newline, if anything.
  void Finish();

 private:
  void Emit(std::string_view line);

  std::function<void(std::string_view)> on_line_;
  std::string partial_;
};

}  // namespace hephy
