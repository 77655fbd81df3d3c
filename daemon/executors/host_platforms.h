// Which platforms this machine can run programs of, for RUN steps of the
// local executors (buildah, kaniko-local): its own architecture natively,
// others through a qemu handler of binfmt_misc registered with the F flag
// (the kernel opens the interpreter at registration, so it works inside a
// build's chroot or container), and the rest not at all.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hephy/config.h"

namespace hephy {

enum class PlatformRun { kNative, kEmulated, kUnavailable };

// "native", "emulated", "unavailable".
std::string_view PlatformRunName(PlatformRun run);

// The architecture part of "os/arch[/variant]" ("arm64" of "linux/arm64/v8").
std::string ArchitectureOf(const std::string& platform);

// The architecture this machine runs natively, in OCI terms ("amd64", "arm64").
std::string HostArchitecture();

struct HostPlatforms {
  std::string native_arch;
  // OCI architecture -> the handler that runs its programs ("qemu-aarch64").
  std::map<std::string, std::string> emulators;
  // Why there is no emulation, or none for some architecture: "binfmt_misc
  // is not mounted at /proc/sys/fs/binfmt_misc", "qemu-arm is disabled",
  // "qemu-riscv64 is registered without the F flag (fix-binary), which
  // builds need". Empty when every handler found works.
  std::vector<std::string> problems;
  // OCI architecture -> its problem, for those with a handler that does not work.
  std::map<std::string, std::string> broken;

  // How RUN steps of `platform` ("linux/arm64", "linux/arm/v7") run here.
  PlatformRun RunOf(const std::string& platform) const;
  // Why `platform` does not run here: its handler's problem, binfmt_misc's,
  // or "no qemu handler for s390x is registered".
  std::string WhyNot(const std::string& platform) const;

  // The handlers as registered in `binfmt_dir` now.
  static HostPlatforms Detect(const std::filesystem::path& binfmt_dir = "/proc/sys/fs/binfmt_misc");
};

// Whether builder.executor runs RUN steps on this machine (buildah,
// kaniko-local) rather than on nodes of each platform (kaniko-kubernetes).
bool RunsOnThisHost(const Config& config);

// The platform a job for `target` is built on (BUILDPLATFORM): this
// machine's, or the target itself where a node of its own builds it.
std::string BuildPlatformFor(const Config& config, const std::string& target);

// What to do about `platform` when this host cannot run it: the sentence
// the planner and the docs give ("install qemu-user-static ...").
std::string WaysToRun(const std::string& platform);

}  // namespace hephy
