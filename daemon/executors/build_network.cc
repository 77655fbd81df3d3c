#include "executors/build_network.h"

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
// it, masquerading to the outside; the firewall plugin lets its traffic
// through a FORWARD chain that drops by default. host-local keeps its
// leases in DIR.
std::string ConflistFor(const std::filesystem::path& dir) {
  using nlohmann::json;
  const json bridge = {
      {"type", "bridge"},
      {"bridge", BuildNetwork::kBridge},
      {"isGateway", true},
      {"ipMasq", true},
      {"hairpinMode", false},
      {"ipam",
       {{"type", "host-local"},
        {"dataDir", (dir / "ipam").string()},
        {"routes", json::array({{{"dst", "0.0.0.0/0"}}})},
        {"ranges", json::array({json::array({{{"subnet", BuildNetwork::kSubnet},
                                              {"gateway", BuildNetwork::kGateway}}})})}}}};
  const json firewall = {{"type", "firewall"}, {"backend", "iptables"}};
  return json({{"cniVersion", "0.4.0"},
               {"name", BuildNetwork::kName},
               {"plugins", json::array({bridge, firewall})}})
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

// A rule in `chain` at the top, unless it is there already.
void EnsureRule(const std::string& tool, const std::string& chain, std::vector<std::string> rule) {
  std::vector<std::string> check = {"-C", chain};
  check.insert(check.end(), rule.begin(), rule.end());
  if (Table(tool, check) == 0) return;
  std::vector<std::string> insert = {"-I", chain, "1"};
  insert.insert(insert.end(), rule.begin(), rule.end());
  Require(tool, insert);
}

// The chain refuses at once (a reset, not a silent drop), so that a RUN
// step that tries learns it cannot instead of hanging until a timeout. Rules
// are added when missing, never flushed first: another hephyd's builds may
// be running on the bridge meanwhile.
void InstallChain(const std::string& tool, const std::string& unreachable) {
  const std::string chain = BuildNetwork::kChain;
  Table(tool, {"-N", chain});  // fails when it exists, which is as good
  EnsureRule(tool, chain, {"-j", "REJECT", "--reject-with", unreachable});
  EnsureRule(tool, chain, {"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"});
  // Every address of this machine is reached through INPUT, whichever
  // interface it sits on.
  EnsureRule(tool, "INPUT", {"-i", BuildNetwork::kBridge, "-j", chain});
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
  InstallChain("iptables", "icmp-port-unreachable");
  EnsureRule("iptables", "FORWARD", {"-i", kBridge, "-d", "169.254.0.0/16", "-j", kChain});
  // Without IPv6 on this machine there is no IPv6 address to reach.
  if (std::filesystem::exists("/proc/net/if_inet6")) {
    InstallChain("ip6tables", "icmp6-port-unreachable");
  }
  return BuildNetwork(dir / "containers.conf");
}

}  // namespace hephy
