// libFuzzer target: `git push -o` options, one per line of the input.
#include "build/push_options.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> options;
  std::string_view text = hephy::Text(data, size);
  while (!text.empty()) {
    const auto end = text.find('\n');
    options.emplace_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  std::vector<std::string> problems;
  hephy::ParsePushOptions(options, problems);
  return 0;
}
