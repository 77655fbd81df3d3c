#include "util/listen_address.h"

#include "hephy/error.h"

namespace hephy {

std::string ListenAddress::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress ParseListenAddress(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw Error("expected HOST:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') throw Error("expected [IPV6]:PORT, got '" + text + "'");
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = text.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5 ||
      std::stoi(port_text) > 65535) {
    throw Error("port must be a number from 0 to 65535, got '" + port_text + "'");
  }
  return ListenAddress{host, static_cast<uint16_t>(std::stoi(port_text))};
}

}  // namespace hephy
