// The network of RUN steps under builder.network isolated: a bridge of
// hephyd's own that buildah attaches each RUN step's network namespace to
// (CNI), with NAT to the outside, and firewall rules that refuse whatever
// the bridge sends to this machine itself (any of its addresses, on any
// port: hephyd, the registry, every other service) or to link-local
// addresses (cloud metadata services). docs/deploy.md, "What each mode
// trusts".
#pragma once

#include <filesystem>

namespace hephy {

class BuildNetwork {
 public:
  static constexpr char kName[] = "hephy-build";
  static constexpr char kBridge[] = "hephy-build0";
  static constexpr char kSubnet[] = "10.89.0.0/24";
  static constexpr char kGateway[] = "10.89.0.1";
  // The firewall chain INPUT jumps to from the bridge; FORWARD jumps to
  // kChain + "-OUT".
  static constexpr char kChain[] = "HEPHY-BUILD";

  // Writes DIR/cni/hephy-build.conflist and DIR/containers.conf, and puts
  // the firewall rules in place (again, after a restart: idempotent). Needs
  // root; throws Error naming what failed and the ways out.
  static BuildNetwork Install(const std::filesystem::path& dir);

  // The containers.conf buildah reads (CONTAINERS_CONF) to find the network.
  const std::filesystem::path& containers_conf() const { return containers_conf_; }

 private:
  explicit BuildNetwork(std::filesystem::path containers_conf)
      : containers_conf_(std::move(containers_conf)) {}
  std::filesystem::path containers_conf_;
};

}  // namespace hephy
