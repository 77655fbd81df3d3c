// libFuzzer target: a build-config.yaml's upstream_repo, checked and split
// as hephyd does before fetching. A URL one accepts the other splits; the
// reason never quotes user information.
#include "fuzz_input.h"
#include "hephy/error.h"
#include "upstream/upstream_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = hephy::Text(data, size);
  const auto problem = hephy::UpstreamUrlProblem(text);
  try {
    hephy::ParseUpstreamUrl(text);
    if (problem) std::abort();
  } catch (const hephy::Error&) {
    if (!problem) std::abort();
  }
  return 0;
}
