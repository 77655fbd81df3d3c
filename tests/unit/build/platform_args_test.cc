#include "build/platform_args.h"

#include <gtest/gtest.h>

#include "executors/host_platforms.h"

namespace hephy {
namespace {

using Args = std::vector<std::string>;

TEST(PlatformArgs, OnlyWhatTheDockerfileDeclaresWithThisJobsValues) {
  EXPECT_EQ(WithPlatformArgs({"SOURCE_DATE_EPOCH=1"}, {"BUILDPLATFORM", "TARGETARCH", "OTHER"},
                             "linux/amd64", "linux/arm64"),
            (Args{"SOURCE_DATE_EPOCH=1", "BUILDPLATFORM=linux/amd64", "TARGETARCH=arm64"}));
  EXPECT_EQ(
      WithPlatformArgs({}, {"BUILDOS", "BUILDARCH", "TARGETPLATFORM", "TARGETOS", "TARGETVARIANT"},
                       "linux/amd64", "linux/arm/v7"),
      (Args{"BUILDOS=linux", "BUILDARCH=amd64", "TARGETPLATFORM=linux/arm/v7", "TARGETOS=linux",
            "TARGETVARIANT=v7"}));
  EXPECT_EQ(WithPlatformArgs({}, {}, "linux/amd64", "linux/arm64"), Args{});
}

TEST(PlatformArgs, ABuildArgOfTheSameNameWins) {
  EXPECT_EQ(WithPlatformArgs({"TARGETARCH=custom"}, {"TARGETARCH"}, "linux/amd64", "linux/arm64"),
            (Args{"TARGETARCH=custom"}));
}

TEST(PlatformArgs, KanikoPodsBuildOnANodeOfTheTargetsOwn) {
  Config config;
  config.builder.executor = "kaniko-kubernetes";
  EXPECT_EQ(BuildPlatformFor(config, "linux/arm64"), "linux/arm64");
  config.builder.executor = "buildah";
  EXPECT_EQ(BuildPlatformFor(config, "linux/arm64"), "linux/" + HostArchitecture());
}

}  // namespace
}  // namespace hephy
