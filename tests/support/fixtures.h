// Files under tests/fixtures/, read whole.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

namespace hephy {

// The SSH public key fixture `name` (tests/fixtures/keys/NAME), e.g. "ed25519.pub".
inline std::string KeyFixture(const std::string& name) {
  std::ifstream in(std::string(HEPHY_FIXTURES_DIR) + "/keys/" + name);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace hephy
