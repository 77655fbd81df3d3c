// libFuzzer target: SSH public keys as `hephyd keys add` reads them, one a
// line, from a user (over SSH, any user).
#include "fuzz_input.h"
#include "hephy/error.h"
#include "hephy/ssh_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    hephy::ParsePublicKeys(hephy::Text(data, size), "stdin");
  } catch (const hephy::Error&) {
  }
  return 0;
}
