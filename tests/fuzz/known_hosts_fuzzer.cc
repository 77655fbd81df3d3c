// libFuzzer target: an OpenSSH known_hosts file (upstreams.known_hosts),
// looked up for an ssh upstream's host and key as hephyd does.
#include "fuzz_input.h"
#include "hephy/error.h"
#include "upstream/known_hosts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const hephy::FuzzFile file(hephy::Text(data, size));
  // An ed25519 key blob: type string, then 32 bytes.
  std::string blob("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
  blob.append(32, '\x01');
  try {
    hephy::KnownHostProblem(file.path(), "git.example.com", 22, blob);
    hephy::KnownHostProblem(file.path(), "10.0.0.1", 2222, blob);
  } catch (const hephy::Error&) {
  }
  return 0;
}
