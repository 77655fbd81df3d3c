#include "store/build_logs.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(BuildLogPath, IsOneFilePerPlatformInTheBuildsDirectory) {
  EXPECT_EQ(BuildLogPath("/data/logs", 42, "linux/arm64"), "/data/logs/42/linux-arm64.log");
  EXPECT_EQ(BuildLogPath("/data/logs", 42, "linux/arm/v7"), "/data/logs/42/linux-arm-v7.log");
  EXPECT_EQ(BuildLogDir("/data/logs", 42), "/data/logs/42");
}

}  // namespace
}  // namespace hephy
