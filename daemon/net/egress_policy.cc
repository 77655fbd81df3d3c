#include "net/egress_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "hephy/error.h"
#include "util/ascii.h"

namespace hephy {
namespace {

using Bytes16 = std::array<uint8_t, 16>;

Bytes16 V6Bytes(const SocketAddress& address) {
  Bytes16 bytes;
  std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr,
              16);
  return bytes;
}

uint32_t V4Value(const SocketAddress& address) {
  return ntohl(reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr.s_addr);
}

uint32_t V4At(const Bytes16& bytes, size_t at) {
  return static_cast<uint32_t>(bytes[at]) << 24 | static_cast<uint32_t>(bytes[at + 1]) << 16 |
         static_cast<uint32_t>(bytes[at + 2]) << 8 | bytes[at + 3];
}

bool ZeroUpTo(const Bytes16& bytes, size_t end, size_t start = 0) {
  return std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(start),
                     bytes.begin() + static_cast<std::ptrdiff_t>(end),
                     [](uint8_t b) { return b == 0; });
}

bool In(uint32_t value, uint32_t network, int prefix) {
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (value & mask) == network;
}

std::optional<std::string> V4Kind(uint32_t a) {
  if (In(a, 0x00000000, 8)) return "unspecified";
  if (In(a, 0x7f000000, 8)) return "loopback";
  if (In(a, 0x0a000000, 8) || In(a, 0xac100000, 12) || In(a, 0xc0a80000, 16)) return "private";
  if (In(a, 0x64400000, 10)) return "carrier-grade NAT";
  if (In(a, 0xa9fe0000, 16)) return "link-local";
  if (In(a, 0xe0000000, 4)) return "multicast";
  // 240/4 with the broadcast address, IETF assignments, documentation and
  // benchmarking networks: nothing a repository is served from.
  if (In(a, 0xf0000000, 4) || In(a, 0xc0000000, 24) || In(a, 0xc0000200, 24) ||
      In(a, 0xc6120000, 15) || In(a, 0xc6336400, 24) || In(a, 0xcb007100, 24)) {
    return "reserved";
  }
  return std::nullopt;
}

// The IPv4 address an IPv6 one carries and reaches: IPv4-mapped, NAT64, 6to4.
std::optional<uint32_t> CarriedV4(const Bytes16& b) {
  if (ZeroUpTo(b, 10) && b[10] == 0xff && b[11] == 0xff) return V4At(b, 12);
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && ZeroUpTo(b, 12, 4)) {
    return V4At(b, 12);
  }
  if (b[0] == 0x20 && b[1] == 0x02) return V4At(b, 2);
  return std::nullopt;
}

std::optional<std::string> V6Kind(const Bytes16& b) {
  if (ZeroUpTo(b, 16)) return "unspecified";
  if (ZeroUpTo(b, 15) && b[15] == 1) return "loopback";
  if (const auto v4 = CarriedV4(b)) return V4Kind(*v4);
  // IPv4-compatible (::a.b.c.d), deprecated: judged by its IPv4 address, and
  // never public.
  if (ZeroUpTo(b, 12)) return V4Kind(V4At(b, 12)).value_or("reserved");
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";  // site-local, deprecated
  if ((b[0] & 0xfe) == 0xfc) return "private";                  // unique local, fc00::/7
  if (b[0] == 0xff) return "multicast";
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return "reserved";  // docs
  if (b[0] == 0x01 && ZeroUpTo(b, 8, 1)) return "reserved";  // discard, 100::/64
  return std::nullopt;
}

// An IPv4-mapped IPv6 address as the IPv4 address it is; others unchanged.
SocketAddress Unmapped(const SocketAddress& address) {
  if (address.family() != AF_INET6) return address;
  const Bytes16 b = V6Bytes(address);
  if (!(ZeroUpTo(b, 10) && b[10] == 0xff && b[11] == 0xff)) return address;
  SocketAddress v4;
  auto* in = reinterpret_cast<sockaddr_in*>(&v4.storage);
  in->sin_family = AF_INET;
  in->sin_port = reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_port;
  std::memcpy(&in->sin_addr, b.data() + 12, 4);
  v4.length = sizeof(sockaddr_in);
  return v4;
}

bool IsHostName(const std::string& text) {
  return !text.empty() && text.size() <= 253 && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

}  // namespace

std::string SocketAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = "";
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
              sizeof text);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text,
              sizeof text);
  }
  return text;
}

SocketAddress SocketAddress::Parse(const std::string& address, uint16_t port) {
  SocketAddress out;
  auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, address.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
  } else {
    throw Error("'" + address + "' is not an IP address");
  }
  return out;
}

std::string NormalizedHostName(std::string host) {
  host = AsciiLower(host);
  while (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

std::optional<std::string> NonPublicKind(const SocketAddress& address) {
  if (address.family() == AF_INET) return V4Kind(V4Value(address));
  if (address.family() == AF_INET6) return V6Kind(V6Bytes(address));
  return "reserved";
}

std::vector<SocketAddress> EgressPolicy::SystemResolver(const std::string& host,
                                                        const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) throw Error("cannot resolve " + host + ": " + gai_strerror(rc));
  std::vector<SocketAddress> addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) continue;
    SocketAddress address;
    std::memcpy(&address.storage, entry->ai_addr, entry->ai_addrlen);
    address.length = entry->ai_addrlen;
    addresses.push_back(address);
  }
  freeaddrinfo(found);
  if (addresses.empty()) throw Error("cannot resolve " + host + ": no IPv4 or IPv6 address");
  return addresses;
}

EgressPolicy::EgressPolicy(const std::vector<std::string>& allow, Resolver resolver)
    : resolver_(std::move(resolver)) {
  for (const std::string& entry : allow) {
    const auto slash = entry.find('/');
    std::optional<SocketAddress> address;
    try {
      address = SocketAddress::Parse(entry.substr(0, slash));
    } catch (const Error&) {
    }
    if (!address) {
      if (slash != std::string::npos || !IsHostName(entry)) {
        throw Error("'" + entry + "' is neither a host name nor an IP address or CIDR");
      }
      names_.push_back(NormalizedHostName(entry));
      continue;
    }
    const int bits = address->family() == AF_INET ? 32 : 128;
    int prefix = bits;
    if (slash != std::string::npos) {
      const std::string digits = entry.substr(slash + 1);
      const bool number = !digits.empty() && digits.size() <= 3 &&
                          std::all_of(digits.begin(), digits.end(), ::isdigit);
      prefix = number ? std::stoi(digits) : -1;
      if (prefix < 0 || prefix > bits) {
        throw Error("'" + entry + "': the prefix length must be a number from 0 to " +
                    std::to_string(bits));
      }
    }
    // An IPv4-mapped network is the IPv4 network it maps, as addresses are.
    const SocketAddress unmapped = Unmapped(*address);
    if (unmapped.family() != address->family()) {
      if (prefix < 96) {
        throw Error("'" + entry + "': an IPv4-mapped network needs a prefix of 96 or more");
      }
      networks_.push_back({unmapped, prefix - 96});
      continue;
    }
    networks_.push_back({*address, prefix});
  }
}

bool EgressPolicy::Allows(const SocketAddress& given) const {
  const SocketAddress address = Unmapped(given);
  for (const auto& network : networks_) {
    if (network.base.family() != address.family()) continue;
    if (address.family() == AF_INET) {
      const uint32_t mask = network.prefix == 0 ? 0 : ~uint32_t{0} << (32 - network.prefix);
      if ((V4Value(address) & mask) == (V4Value(network.base) & mask)) return true;
      continue;
    }
    const Bytes16 a = V6Bytes(address), n = V6Bytes(network.base);
    bool same = true;
    for (int bit = 0; bit < network.prefix && same; ++bit) {
      const int shift = 7 - bit % 8;
      same = ((a[bit / 8] >> shift) & 1) == ((n[bit / 8] >> shift) & 1);
    }
    if (same) return true;
  }
  return false;
}

std::vector<SocketAddress> EgressPolicy::Resolve(const std::string& host,
                                                 const std::string& port) const {
  std::vector<SocketAddress> addresses = resolver_(host, port);
  const std::string name = NormalizedHostName(host);
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) return addresses;
  for (const auto& address : addresses) {
    if (Allows(address)) continue;
    if (const auto kind = NonPublicKind(address)) {
      throw Error(host + " resolves to " + address.ToString() + " (" + *kind +
                  "); hephyd fetches only public addresses unless upstreams.allow_hosts "
                  "lists the host");
    }
  }
  return addresses;
}

}  // namespace hephy
