#include "executors/host_platforms.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_dir.h"

namespace hephy {
namespace {

// A binfmt_misc directory as the kernel shows one: "register", "status" and
// a file per handler.
class HostPlatformsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() / "register");
    std::ofstream(dir_.path() / "status") << "enabled\n";
  }
  void Handler(const std::string& name, bool enabled, const std::string& flags) {
    std::ofstream(dir_.path() / name)
        << (enabled ? "enabled" : "disabled") << "\ninterpreter /usr/libexec/qemu-binfmt/" << name
        << "\nflags: " << flags << "\noffset 0\nmagic 7f454c46\n";
  }
  TestDir dir_;
};

TEST_F(HostPlatformsTest, HandlersWithTheFixBinaryFlagEmulate) {
  Handler("qemu-aarch64", true, "PF");
  Handler("qemu-s390x", false, "PF");
  Handler("qemu-riscv64", true, "P");
  Handler("qemu-arm", true, "POCF");
  const HostPlatforms host = HostPlatforms::Detect(dir_.path());
  EXPECT_EQ(host.native_arch, HostArchitecture());
  const std::string native = "linux/" + HostArchitecture();
  EXPECT_EQ(host.RunOf(native), PlatformRun::kNative);
  if (HostArchitecture() != "arm64") {
    EXPECT_EQ(host.RunOf("linux/arm64"), PlatformRun::kEmulated);
    EXPECT_EQ(host.emulators.at("arm64"), "qemu-aarch64");
  }
  EXPECT_EQ(host.RunOf("linux/arm/v7"), PlatformRun::kEmulated);
  EXPECT_EQ(host.RunOf("linux/s390x"), PlatformRun::kUnavailable);
  EXPECT_EQ(host.RunOf("linux/riscv64"), PlatformRun::kUnavailable);
  EXPECT_EQ(host.RunOf("linux/ppc64le"), PlatformRun::kUnavailable);
  EXPECT_EQ(host.problems,
            (std::vector<std::string>{
                "qemu-riscv64 is registered without the F flag (fix-binary), which builds need",
                "qemu-s390x is disabled"}));
  EXPECT_EQ(host.WhyNot("linux/s390x"), "qemu-s390x is disabled");
  EXPECT_EQ(host.WhyNot("linux/ppc64le"), "no qemu handler for ppc64le is registered");
}

TEST_F(HostPlatformsTest, WithoutBinfmtMiscOnlyTheNativePlatformRuns) {
  const HostPlatforms host = HostPlatforms::Detect(dir_.path() / "not-mounted");
  EXPECT_EQ(host.RunOf("linux/" + HostArchitecture()), PlatformRun::kNative);
  EXPECT_TRUE(host.emulators.empty());
  EXPECT_EQ(host.problems, (std::vector<std::string>{"binfmt_misc is not mounted at " +
                                                     (dir_.path() / "not-mounted").string()}));
  EXPECT_EQ(host.WhyNot("linux/s390x"), host.problems.front());
}

TEST(HostPlatforms, NamesHowEachPlatformRuns) {
  EXPECT_EQ(PlatformRunName(PlatformRun::kNative), "native");
  EXPECT_EQ(PlatformRunName(PlatformRun::kEmulated), "emulated");
  EXPECT_EQ(PlatformRunName(PlatformRun::kUnavailable), "unavailable");
}

}  // namespace
}  // namespace hephy
