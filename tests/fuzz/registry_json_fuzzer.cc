// libFuzzer target: JSON bodies a registry and its token service send, as
// hephyd's registry client reads them: error bodies, token answers, and the
// platforms of an image index.
#include "fuzz_input.h"
#include "hephy/error.h"
#include "registry/image_index.h"
#include "registry/registry_auth.h"
#include "registry/registry_errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(hephy::Text(data, size));
  hephy::RegistryErrors(body);
  if (const auto answer = hephy::ParseTokenAnswer(body, std::chrono::seconds(60))) {
    if (answer->token.empty() || answer->lifetime.count() <= 0) std::abort();
  }
  try {
    hephy::ParsePlatform(body);
  } catch (const hephy::Error&) {
  }
  return 0;
}
