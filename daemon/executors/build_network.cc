#include "executors/build_network.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hephy/error.h"
#include "util/process.h"

namespace hephy {
namespace {

constexpr char kWaysOut[] =
    "; builder.network none (no network in RUN steps) or host (every pusher trusted with the "
    "host's network) need no setup";

void WriteFile(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw Error("builder.network isolated: cannot write " + file.string() + kWaysOut);
}

// The CNI network: a bridge whose gateway is this machine's only address on
// it (NAT and forwarding are LetOut's). host-local keeps its leases in DIR.
std::string ConflistFor(const std::filesystem::path& dir) {
  using nlohmann::json;
  const json bridge = {
      {"type", "bridge"},
      {"bridge", BuildNetwork::kBridge},
      {"isGateway", true},
      {"ipMasq", false},
      {"hairpinMode", false},
      {"ipam",
       {{"type", "host-local"},
        {"dataDir", (dir / "ipam").string()},
        {"routes", json::array({{{"dst", "0.0.0.0/0"}}})},
        {"ranges", json::array({json::array({{{"subnet", BuildNetwork::kSubnet},
                                              {"gateway", BuildNetwork::kGateway}}})})}}}};
  return json({{"cniVersion", "0.4.0"},
               {"name", BuildNetwork::kName},
               {"plugins", json::array({bridge})}})
             .dump(2) +
         "\n";
}

// Runs one iptables or ip6tables command; its exit code, 0 for success.
int Table(const std::string& tool, std::vector<std::string> args, std::string* error = nullptr) {
  std::vector<std::string> argv = {tool, "-w"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult result;
  try {
    result = Run({.argv = argv, .pipe_stdout = true, .pipe_stderr = true});
  } catch (const std::exception& e) {
    if (error != nullptr) *error = e.what();
    return 127;
  }
  if (error != nullptr) *error = result.err.empty() ? result.out : result.err;
  return result.exit_code;
}

void Require(const std::string& tool, std::vector<std::string> args) {
  std::string error;
  if (Table(tool, args, &error) == 0) return;
  std::string command = tool;
  for (const auto& arg : args) command += " " + arg;
  while (!error.empty() && error.back() == '\n') error.pop_back();
  throw Error("builder.network isolated: `" + command + "` failed" +
              (error.empty() ? "" : ": " + error) + kWaysOut);
}

enum class Place { kTop, kBottom };

// A rule in `chain` of `table`, unless it is there already: inserted at the
// top or appended at the bottom. Never flushed and rebuilt: another hephyd's
// builds may be running on the bridge meanwhile. A chain's rules that must
// come first go to the top and its fallback to the bottom, so that their
// order holds whichever of them was missing.
void EnsureRule(const std::string& tool, const std::string& table, const std::string& chain,
                Place place, const std::vector<std::string>& rule) {
  std::vector<std::string> check = {"-t", table, "-C", chain};
  check.insert(check.end(), rule.begin(), rule.end());
  if (Table(tool, check) == 0) return;
  std::vector<std::string> add = {"-t", table};
  if (place == Place::kTop) {
    add.insert(add.end(), {"-I", chain, "1"});
  } else {
    add.insert(add.end(), {"-A", chain});
  }
  add.insert(add.end(), rule.begin(), rule.end());
  Require(tool, add);
}

// Whatever the bridge sends to this machine is refused at once (a reset, not
// a silent drop), so that a RUN step that tries learns it cannot instead of
// hanging until a timeout. Every address of this machine is reached through
// INPUT, whichever interface it sits on.
void RefuseTheHost(const std::string& tool, const std::string& unreachable) {
  const std::string chain = BuildNetwork::kChain;
  Table(tool, {"-N", chain});  // fails when it exists, which is as good
  EnsureRule(tool, "filter", chain, Place::kTop,
             {"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"});
  EnsureRule(tool, "filter", chain, Place::kBottom, {"-j", "REJECT", "--reject-with", unreachable});
  EnsureRule(tool, "filter", "INPUT", Place::kTop, {"-i", BuildNetwork::kBridge, "-j", chain});
}

// The way out, set up once here rather than by CNI plugins for every RUN step
// (the firewall and ipMasq plugins cost ~150 ms a step): forwarding from the
// bridge but to link-local addresses (cloud metadata services), the answers
// back, and NAT to the host's addresses.
void LetOut() {
  const std::string chain = std::string(BuildNetwork::kChain) + "-OUT";
  Table("iptables", {"-N", chain});
  EnsureRule("iptables", "filter", chain, Place::kTop,
             {"-d", "169.254.0.0/16", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"});
  EnsureRule("iptables", "filter", chain, Place::kBottom, {"-j", "ACCEPT"});
  EnsureRule("iptables", "filter", "FORWARD", Place::kTop,
             {"-i", BuildNetwork::kBridge, "-j", chain});
  EnsureRule("iptables", "filter", "FORWARD", Place::kTop,
             {"-o", BuildNetwork::kBridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
              "-j", "ACCEPT"});
  EnsureRule("iptables", "nat", "POSTROUTING", Place::kTop,
             {"-s", BuildNetwork::kSubnet, "!", "-o", BuildNetwork::kBridge, "-j", "MASQUERADE"});
}

}  // namespace

BuildNetwork BuildNetwork::Install(const std::filesystem::path& dir) {
  // Rootless buildah cannot join a bridge in the host's network namespace.
  if (geteuid() != 0) {
    throw Error(
        "builder.network isolated: the build bridge and its firewall rules need root, "
        "and hephyd runs as uid " +
        std::to_string(geteuid()) + kWaysOut);
  }
  std::error_code ec;
  std::filesystem::create_directories(dir / "cni", ec);
  if (ec) {
    throw Error("builder.network isolated: cannot create " + (dir / "cni").string() + ": " +
                ec.message() + kWaysOut);
  }
  WriteFile(dir / "cni" / (std::string(kName) + ".conflist"), ConflistFor(dir));
  // A TOML basic string takes JSON's escapes.
  WriteFile(dir / "containers.conf", "[network]\nnetwork_backend = \"cni\"\nnetwork_config_dir = " +
                                         nlohmann::json((dir / "cni").string()).dump() + "\n");
  // One hephyd at a time, or two starting together both add what is missing.
  const UniqueFd lock(open("/run/hephy-build-network.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock) flock(lock.get(), LOCK_EX);
  RefuseTheHost("iptables", "icmp-port-unreachable");
  // The bridge has IPv6 link-local addresses only: the host's is all there
  // is to refuse. Without IPv6 on this machine there is none.
  if (std::filesystem::exists("/proc/net/if_inet6")) {
    RefuseTheHost("ip6tables", "icmp6-port-unreachable");
  }
  LetOut();
  return BuildNetwork(dir / "containers.conf");
}

}  // namespace hephy
