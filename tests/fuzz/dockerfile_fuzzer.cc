// libFuzzer target: a pushed Dockerfile, as the build planner reads it
// before building: its instructions, the hosts buildah would fetch from,
// the platforms its RUN steps run on and the arguments it declares.
#include "build/dockerfile_fetches.h"
#include "build/dockerfile_platforms.h"
#include "build/unit_order.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view dockerfile = hephy::Text(data, size);
  (void)hephy::DockerfileFetches(dockerfile, {"HOST=127.0.0.1"});
  (void)hephy::RunPlatforms(dockerfile, "linux/amd64", "linux/arm64");
  (void)hephy::RunPlatforms(dockerfile, "linux/amd64", "linux/arm64", "build");
  (void)hephy::DeclaredArgs(dockerfile);
  (void)hephy::ParseFromLines(dockerfile);
  return 0;
}
