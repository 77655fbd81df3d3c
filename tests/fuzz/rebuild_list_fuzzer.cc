// libFuzzer target: a repository's rebuild-weekly.txt, and the schedule
// syntax of builder.rebuild_schedule.
#include "build/rebuild_schedule.h"
#include "fuzz_input.h"
#include "hephy/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = hephy::Text(data, size);
  std::vector<std::string> problems;
  hephy::ParseRebuildList(text, "rebuild-weekly.txt", problems);
  for (const auto& problem : problems) {
    if (!problem.starts_with("rebuild-weekly.txt")) std::abort();
  }
  try {
    hephy::RebuildSchedule::Parse(text);
  } catch (const hephy::Error&) {
  }
  return 0;
}
