// libFuzzer target: build-config.yaml text straight from the fuzzer. The
// parser must never crash or throw, whatever it is given; every problem it
// finds must name the file.
#include "build/build_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> problems;
  hephy::ParseBuildConfig(hephy::Text(data, size), "unit/build-config.yaml", "unit", problems);
  for (const auto& problem : problems) {
    if (!problem.starts_with("unit/build-config.yaml")) std::abort();
  }
  return 0;
}
