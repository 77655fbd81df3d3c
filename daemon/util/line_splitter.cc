#include "util/line_splitter.h"

namespace hephy {

void LineSplitter::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      partial_.append(bytes);
      while (partial_.size() >= kMaxLine) {
        Emit(std::string_view(partial_).substr(0, kMaxLine));
        partial_.erase(0, kMaxLine);
      }
      return;
    }
    if (partial_.empty()) {
      Emit(bytes.substr(0, newline));
    } else {
      partial_.append(bytes.substr(0, newline));
      Emit(partial_);
      partial_.clear();
    }
    bytes.remove_prefix(newline + 1);
  }
}

void LineSplitter::Finish() {
  if (!partial_.empty()) Emit(partial_);
  partial_.clear();
}

void LineSplitter::Emit(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  on_line_(line);
}

}  // namespace hephy
