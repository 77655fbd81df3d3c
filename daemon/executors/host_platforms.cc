#include "executors/host_platforms.h"

#include <sys/utsname.h>

#include <fstream>
#include <sstream>

namespace hephy {
namespace {

// qemu's name of an architecture (qemu-NAME handlers) -> OCI's.
const std::map<std::string, std::string>& OciArchitectures() {
  static const std::map<std::string, std::string> names = {
      {"aarch64", "arm64"},      {"arm", "arm"},       {"x86_64", "amd64"},  {"i386", "386"},
      {"ppc64le", "ppc64le"},    {"ppc64", "ppc64"},   {"s390x", "s390x"},   {"riscv64", "riscv64"},
      {"mips64el", "mips64le"},  {"mips64", "mips64"}, {"mipsel", "mipsle"}, {"mips", "mips"},
      {"loongarch64", "loong64"}};
  return names;
}

}  // namespace

std::string ArchitectureOf(const std::string& platform) {
  const auto first = platform.find('/');
  if (first == std::string::npos) return platform;
  const auto second = platform.find('/', first + 1);
  return platform.substr(first + 1, second == std::string::npos ? second : second - first - 1);
}

std::string_view PlatformRunName(PlatformRun run) {
  switch (run) {
    case PlatformRun::kNative:
      return "native";
    case PlatformRun::kEmulated:
      return "emulated";
    case PlatformRun::kUnavailable:
      return "unavailable";
  }
  return "unavailable";
}

std::string HostArchitecture() {
  utsname name{};
  uname(&name);
  const std::string machine = name.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "armv7l") return "arm";
  if (machine == "i686" || machine == "i386") return "386";
  return machine;  // ppc64le, s390x, riscv64 are spelt alike
}

PlatformRun HostPlatforms::RunOf(const std::string& platform) const {
  const std::string arch = ArchitectureOf(platform);
  if (arch == native_arch) return PlatformRun::kNative;
  if (emulators.contains(arch)) return PlatformRun::kEmulated;
  return PlatformRun::kUnavailable;
}

HostPlatforms HostPlatforms::Detect(const std::filesystem::path& binfmt_dir) {
  HostPlatforms host{.native_arch = HostArchitecture()};
  std::error_code ec;
  if (!std::filesystem::exists(binfmt_dir / "register", ec)) {
    host.problems.push_back("binfmt_misc is not mounted at " + binfmt_dir.string());
    return host;
  }
  for (const auto& [qemu, oci] : OciArchitectures()) {
    if (oci == host.native_arch) continue;
    const std::string handler = "qemu-" + qemu;
    std::ifstream in(binfmt_dir / handler);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    if (!content.starts_with("enabled")) {
      host.broken[oci] = handler + " is disabled";
      host.problems.push_back(host.broken[oci]);
      continue;
    }
    const auto flags = content.find("\nflags: ");
    const std::string flag_letters =
        flags == std::string::npos
            ? ""
            : content.substr(flags + 8, content.find('\n', flags + 1) - flags - 8);
    if (flag_letters.find('F') == std::string::npos) {
      host.broken[oci] =
          handler + " is registered without the F flag (fix-binary), which builds need";
      host.problems.push_back(host.broken[oci]);
      continue;
    }
    host.emulators[oci] = handler;
  }
  return host;
}

std::string HostPlatforms::WhyNot(const std::string& platform) const {
  const std::string arch = ArchitectureOf(platform);
  if (const auto found = broken.find(arch); found != broken.end()) return found->second;
  if (!problems.empty() && problems.front().starts_with("binfmt_misc")) return problems.front();
  return "no qemu handler for " + arch + " is registered";
}

bool RunsOnThisHost(const Config& config) {
  return config.builder.executor == "buildah" || config.builder.executor == "kaniko-local";
}

std::string BuildPlatformFor(const Config& config, const std::string& target) {
  return RunsOnThisHost(config) ? "linux/" + HostArchitecture() : target;
}

std::string WaysToRun(const std::string& platform) {
  return "install qemu-user-static and binfmt-support and register their handlers "
         "(scripts/enable-emulation), or build " +
         platform + " with builder.executor kaniko-kubernetes on a node of that architecture";
}

}  // namespace hephy
