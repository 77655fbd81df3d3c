// libFuzzer target: what hephy-hook sends hephyd's hook socket, pkt-lines
// read off a file descriptor and read as a push request.
#include <stdexcept>

#include "fuzz_input.h"
#include "git/hook_server.h"
#include "hephy/error.h"
#include "hephy/hook_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const hephy::FuzzFile file(hephy::Text(data, size));
  lseek(file.fd(), 0, SEEK_SET);
  std::vector<std::string> packets;
  try {
    hephy::hook::PacketReader reader(file.fd());
    while (auto packet = reader.Next()) {
      if (packet->size() > hephy::hook::kMaxPayload) std::abort();
      packets.push_back(std::move(*packet));
    }
  } catch (const std::runtime_error&) {  // the stream ended, or a bad header
  }
  try {
    hephy::ParsePushRequest(packets);
  } catch (const hephy::Error&) {
  }
  return 0;
}
