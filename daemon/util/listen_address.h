// An address a server listens on (ssh.listen, http.listen), as the config
// file writes it and as serve reports the port it got.
#pragma once

#include <cstdint>
#include <string>

namespace hephy {

struct ListenAddress {
  std::string host;
  uint16_t port = 0;  // 0: the kernel picks one (tests); serve logs the port it got
  // "HOST:PORT", or "[V6]:PORT" for an IPv6 host.
  std::string ToString() const;
};

// "HOST:PORT" or "[V6]:PORT". Throws Error quoting `text`.
ListenAddress ParseListenAddress(const std::string& text);

}  // namespace hephy
