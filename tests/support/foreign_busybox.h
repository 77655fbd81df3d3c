// The arm64 busybox of scripts/test-fixtures (Debian's busybox-static:arm64),
// which RUN steps for linux/arm64 run through qemu on an amd64 host, and why
// that cannot happen here when it cannot.
#pragma once

#include <filesystem>
#include <string>

#include "executors/host_platforms.h"

namespace hephy {

inline std::filesystem::path Arm64Busybox() {
  return std::filesystem::path(HEPHY_FIXTURES_DIR) / "arm64" / "busybox";
}

// Empty when a linux/arm64 RUN step runs here; else the reason, for
// GTEST_SKIP.
inline std::string WhyArm64CannotRun() {
  if (!std::filesystem::exists(Arm64Busybox())) {
    return Arm64Busybox().string() + " is missing (scripts/test-fixtures fetches it)";
  }
  const HostPlatforms host = HostPlatforms::Detect();
  if (host.RunOf("linux/arm64") == PlatformRun::kUnavailable) {
    return "linux/arm64 programs cannot run on this host: " + host.WhyNot("linux/arm64") +
           " (scripts/enable-emulation)";
  }
  return "";
}

}  // namespace hephy
