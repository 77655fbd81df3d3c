// Where hephyd connects on a pusher's behalf (the upstream_repo of a
// build-config.yaml): public addresses, and what upstreams.allow_hosts
// lists. Every other address of a host is refused before any connection,
// whatever spelling named it (octal, hex, a bare integer, 127.1, IPv4-mapped
// IPv6): the check is made on the addresses the name resolves to, and those
// very addresses are the ones connected to (upstream/pinned_stream.h), so a
// name that resolves differently the second time cannot slip through.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hephy {

// One address of a host, with its port, as connect() takes it.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  // "127.0.0.1", "::1": the address alone.
  std::string ToString() const;
  // "127.0.0.1", "::1" with `port`; throws Error for an address that is not.
  static SocketAddress Parse(const std::string& address, uint16_t port = 0);
};

// Why hephyd does not connect to `address` unless allowed: "loopback",
// "unspecified", "link-local", "private", "carrier-grade NAT",
// "multicast", "reserved"; nullopt for a public address. IPv6 forms that
// carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible
// ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by it.
std::optional<std::string> NonPublicKind(const SocketAddress& address);

// A host name as policies compare them: lower case, without trailing dots.
std::string NormalizedHostName(std::string host);

class EgressPolicy {
 public:
  // A host's addresses for `port` (a number or a service name); throws Error
  // with the reason when it has none.
  using Resolver =
      std::function<std::vector<SocketAddress>(const std::string& host, const std::string& port)>;
  // getaddrinfo, TCP, IPv4 and IPv6.
  static std::vector<SocketAddress> SystemResolver(const std::string& host,
                                                   const std::string& port);

  // `allow`: host names (exact, any case, a trailing dot ignored), whose
  // every address is allowed, and addresses or CIDRs ("10.20.0.0/16",
  // "fd00::/8", "192.168.1.5"), allowed wherever they come from. Throws
  // Error naming an entry that is neither.
  explicit EgressPolicy(const std::vector<std::string>& allow = {},
                        Resolver resolver = SystemResolver);

  // The addresses of `host` hephyd may connect to, in the resolver's order.
  // Throws Error when any address of the host is refused ("HOST resolves to
  // 127.0.0.1 (loopback); hephyd fetches only public addresses unless
  // upstreams.allow_hosts lists the host"), or the host does not resolve.
  std::vector<SocketAddress> Resolve(const std::string& host, const std::string& port) const;

 private:
  struct Network {
    SocketAddress base;
    int prefix = 0;
  };
  bool Allows(const SocketAddress& address) const;

  std::vector<std::string> names_;
  std::vector<Network> networks_;
  Resolver resolver_;
};

}  // namespace hephy
