// libFuzzer target: a docker config.json (registry.docker_config), read as
// hephyd reads it, and the credentials it gives for a registry. Bad input is
// an Error naming the file.
#include "fuzz_input.h"
#include "hephy/error.h"
#include "registry/docker_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const hephy::FuzzFile file(hephy::Text(data, size));
  try {
    const auto config = hephy::DockerConfig::Load(file.path());
    // Helpers are programs: only configs that name none are asked.
    if (hephy::Text(data, size).find("cred") == std::string_view::npos) {
      config.CredentialsFor("registry.example:5000", std::chrono::seconds(1));
      config.CredentialsFor("docker.io", std::chrono::seconds(1));
    }
  } catch (const hephy::Error& e) {
    if (std::string_view(e.what()).find(file.path().string()) == std::string_view::npos) {
      std::abort();
    }
  }
  return 0;
}
