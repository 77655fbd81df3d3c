#include "net/egress_policy.h"

#include <gtest/gtest.h>

#include "error_of.h"

namespace hephy {
namespace {

std::optional<std::string> KindOf(const std::string& address) {
  return NonPublicKind(SocketAddress::Parse(address));
}

TEST(EgressPolicy, NamesEveryKindOfAddressThatIsNotPublic) {
  const std::pair<const char*, const char*> cases[] = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "unspecified"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"10.0.0.1", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"100.127.255.255", "carrier-grade NAT"},
      {"169.254.169.254", "link-local"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"255.255.255.255", "reserved"},
      {"240.0.0.1", "reserved"},
      {"192.0.2.1", "reserved"},
      {"198.18.0.1", "reserved"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fec0::1", "private"},
      {"fc00::1", "private"},
      {"fd12:3456::1", "private"},
      {"ff02::1", "multicast"},
      {"2001:db8::1", "reserved"},
      {"100::1", "reserved"},
      // IPv4 addresses in IPv6 clothing are what they carry.
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "link-local"},
      {"::127.0.0.1", "loopback"},
      {"::8.8.8.8", "reserved"},
      {"64:ff9b::a00:1", "private"},
      {"2002:7f00:1::", "loopback"},
      {"2002:a9fe:a9fe::1", "link-local"},
  };
  for (const auto& [address, kind] : cases) EXPECT_EQ(KindOf(address), kind) << address;
}

TEST(EgressPolicy, PublicAddressesAreNotNamed) {
  for (const char* address :
       {"1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "223.255.255.1", "2606:4700::1111",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"}) {
    EXPECT_EQ(KindOf(address), std::nullopt) << address;
  }
}

// A resolver that answers every name with `addresses`, for port 443.
EgressPolicy::Resolver Answering(std::vector<std::string> addresses) {
  return [addresses](const std::string&, const std::string&) {
    std::vector<SocketAddress> out;
    for (const auto& address : addresses) out.push_back(SocketAddress::Parse(address, 443));
    return out;
  };
}

TEST(EgressPolicy, ANameWithOneRefusedAddressIsRefused) {
  const EgressPolicy policy({}, Answering({"8.8.8.8", "10.0.0.1"}));
  EXPECT_EQ(ErrorOf([&] { policy.Resolve("mixed.example", "443"); }),
            "mixed.example resolves to 10.0.0.1 (private); hephyd fetches only public addresses "
            "unless upstreams.allow_hosts lists the host");
  EXPECT_EQ(EgressPolicy({}, Answering({"8.8.8.8"})).Resolve("public.example", "443").size(), 1u);
}

TEST(EgressPolicy, AllowsListedNamesAndNetworks) {
  const auto resolver = Answering({"10.1.2.3", "fd00::5"});
  EXPECT_EQ(EgressPolicy({"GitLab.Internal."}, resolver).Resolve("gitlab.internal", "443").size(),
            2u);
  EXPECT_EQ(EgressPolicy({"gitlab.internal"}, resolver).Resolve("GITLAB.INTERNAL.", "443").size(),
            2u);
  EXPECT_EQ(EgressPolicy({"10.0.0.0/8", "fd00::/8"}, resolver).Resolve("x", "443").size(), 2u);
  EXPECT_EQ(EgressPolicy({"10.1.2.3", "fd00::5/128"}, resolver).Resolve("x", "443").size(), 2u);
  // Every refused address must be allowed.
  EXPECT_NE(ErrorOf([&] {
              EgressPolicy({"10.0.0.0/8"}, resolver).Resolve("x", "443");
            }).find("x resolves to fd00::5 (private)"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              EgressPolicy({"other.internal"}, resolver).Resolve("x", "443");
            }).find("(private)"),
            std::string::npos);
  // An IPv4 network allows the IPv4-mapped forms of its addresses, and back.
  EXPECT_EQ(EgressPolicy({"10.0.0.0/8"}, Answering({"::ffff:10.9.9.9"})).Resolve("x", "1").size(),
            1u);
  EXPECT_EQ(EgressPolicy({"::ffff:10.0.0.0/104"}, Answering({"10.9.9.9"})).Resolve("x", "1").size(),
            1u);
}

TEST(EgressPolicy, RefusesAllowEntriesThatAreNeitherNameNorNetwork) {
  EXPECT_EQ(ErrorOf([] { EgressPolicy({"10.0.0.0/33"}); }),
            "'10.0.0.0/33': the prefix length must be a number from 0 to 32");
  EXPECT_EQ(ErrorOf([] { EgressPolicy({"fd00::/x"}); }),
            "'fd00::/x': the prefix length must be a number from 0 to 128");
  EXPECT_EQ(ErrorOf([] { EgressPolicy({"https://gitlab.internal"}); }),
            "'https://gitlab.internal' is neither a host name nor an IP address or CIDR");
  EXPECT_EQ(ErrorOf([] { EgressPolicy({"gitlab.internal/8"}); }),
            "'gitlab.internal/8' is neither a host name nor an IP address or CIDR");
}

TEST(EgressPolicy, TheSystemResolverReadsEverySpellingOfAnAddress) {
  const EgressPolicy policy;
  for (const char* host : {"127.0.0.1", "127.1", "0177.0.0.1", "2130706433", "0x7f000001"}) {
    EXPECT_NE(
        ErrorOf([&] { policy.Resolve(host, "80"); }).find(" resolves to 127.0.0.1 (loopback)"),
        std::string::npos)
        << host;
  }
  // localhost may resolve to ::1 first.
  EXPECT_NE(ErrorOf([&] { policy.Resolve("localhost", "80"); }).find(" (loopback)"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { policy.Resolve("fe80::1%lo", "80"); }).find("(link-local)"),
            std::string::npos);
}

}  // namespace
}  // namespace hephy
