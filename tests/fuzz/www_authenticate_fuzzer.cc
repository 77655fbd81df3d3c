// libFuzzer target: a registry's WWW-Authenticate header, as hephyd's
// registry client reads its challenges.
#include "fuzz_input.h"
#include "registry/registry_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const auto& challenge : hephy::ParseAuthChallenges(std::string(hephy::Text(data, size)))) {
    (void)challenge;
  }
  return 0;
}
