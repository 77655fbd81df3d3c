#include "build/push_output.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(PushOutput, PushesAreColouredUnlessThePusherOrTheConfigSaysNever) {
  EXPECT_TRUE(UsesColor(ColorMode::kAuto, std::nullopt, true));
  EXPECT_FALSE(UsesColor(ColorMode::kAuto, std::nullopt, false));
  EXPECT_FALSE(UsesColor(ColorMode::kAuto, ColorMode::kNever, true));
  EXPECT_FALSE(UsesColor(ColorMode::kNever, std::nullopt, true));
  EXPECT_TRUE(UsesColor(ColorMode::kNever, ColorMode::kAlways, false));
  EXPECT_TRUE(UsesColor(ColorMode::kAlways, std::nullopt, false));
  EXPECT_FALSE(UsesColor(ColorMode::kAlways, ColorMode::kNever, true));
  EXPECT_TRUE(UsesColor(ColorMode::kNever, ColorMode::kAuto, true));
}

TEST(PushOutput, EachPlatformHasItsOwnColourAndStatusesAreGreenOrRed) {
  const Palette color(true);
  EXPECT_EQ(color.Platform("linux/amd64", 0), "\x1b[36m[linux/amd64]\x1b[0m");
  EXPECT_EQ(color.Platform("linux/arm64", 1), "\x1b[35m[linux/arm64]\x1b[0m");
  for (size_t i = 0; i < 8; ++i) {
    for (size_t j = i + 1; j < 8; ++j) EXPECT_NE(color.Platform("p", i), color.Platform("p", j));
    EXPECT_EQ(color.Platform("p", i).find("[32m"), std::string::npos);
    EXPECT_EQ(color.Platform("p", i).find("[31m"), std::string::npos);
  }
  EXPECT_EQ(color.Good("succeeded"), "\x1b[32msucceeded\x1b[0m");
  EXPECT_EQ(color.Bad("failed"), "\x1b[31mfailed\x1b[0m");
}

TEST(PushOutput, WithoutColourTextIsLeftAsItIs) {
  const Palette plain(false);
  EXPECT_EQ(plain.Platform("linux/amd64", 3), "[linux/amd64]");
  EXPECT_EQ(plain.Good("succeeded"), "succeeded");
  EXPECT_EQ(plain.Bad("failed"), "failed");
  EXPECT_EQ(plain.Bold("web"), "web");
}

TEST(PushOutput, StepsOfBuildahAndKaniko) {
  EXPECT_EQ(StepOf("STEP 2/3: RUN make"), "STEP 2/3: RUN make");
  EXPECT_EQ(StepOf("[1/2] STEP 2/5: COPY . /src"), "[1/2] STEP 2/5: COPY . /src");
  EXPECT_EQ(StepOf("INFO[0003] RUN make test"), "RUN make test");
  EXPECT_EQ(StepOf("INFO[0003] Running: [/bin/sh -c make]"), std::nullopt);
  EXPECT_EQ(StepOf("make: *** [all] Error 1"), std::nullopt);
  EXPECT_EQ(StepOf("STEPS ahead"), std::nullopt);
  const auto long_step = StepOf("STEP 1/1: RUN " + std::string(200, 'x'));
  ASSERT_TRUE(long_step);
  EXPECT_EQ(long_step->size(), 100u);
  EXPECT_TRUE(long_step->ends_with("..."));
}

TEST(PushOutput, AFailureNamesItsPlatformAndStepFirst) {
  EXPECT_EQ(FailureLine(Palette(false), "", "linux/arm64", 1, "3.1s", "STEP 2/2: RUN false",
                        "buildah build exited with status 1"),
            "hephy: [linux/arm64] failed after 3.1s, in STEP 2/2: RUN false (buildah build "
            "exited with status 1)");
  EXPECT_EQ(FailureLine(Palette(false), "web ", "linux/amd64", 0, "0.2s", std::nullopt,
                        "cannot start buildah"),
            "hephy: web [linux/amd64] failed after 0.2s (cannot start buildah)");
  EXPECT_EQ(FailureLine(Palette(true), "", "linux/amd64", 0, "1.0s", std::nullopt, "x"),
            "hephy: \x1b[36m[linux/amd64]\x1b[0m \x1b[31mfailed\x1b[0m after 1.0s (x)");
}

TEST(PushOutput, SummaryNamesTheImageTagsPullCommandsAndPage) {
  const BuiltImage web{.app = "shop",
                       .unit = "web",
                       .build_id = 7,
                       .repository = "registry.example.com/shop",
                       .digest = "sha256:abc",
                       .tags = {"web-20251014-a1b2c3d", "web-latest"}};
  EXPECT_EQ(SummaryLines(Palette(false), {web}, "https://builds.example.com"),
            (std::vector<std::string>{
                "hephy: web built (build 7)",
                "hephy:   image  registry.example.com/shop@sha256:abc",
                "hephy:   tags   web-20251014-a1b2c3d, web-latest",
                "hephy:   pull   podman pull registry.example.com/shop:web-20251014-a1b2c3d",
                "hephy:          docker pull registry.example.com/shop:web-20251014-a1b2c3d",
                "hephy:   page   https://builds.example.com/apps/shop/builds/7",
            }));
}

TEST(PushOutput, SummaryWithoutPublicUrlHasNoPageAndAnInsecureRegistryTellsPodman) {
  const BuiltImage web{.app = "shop",
                       .unit = "web",
                       .build_id = 7,
                       .repository = "127.0.0.1:5000/shop",
                       .digest = "sha256:abc",
                       .tags = {"web-20251014-a1b2c3d"},
                       .insecure = true};
  const auto lines = SummaryLines(Palette(true), {web, web}, "");
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[0], "hephy: \x1b[1mweb\x1b[0m \x1b[32mbuilt\x1b[0m (build 7)");
  EXPECT_EQ(
      lines[3],
      "hephy:   pull   podman pull --tls-verify=false 127.0.0.1:5000/shop:web-20251014-a1b2c3d");
  for (const auto& line : lines) EXPECT_EQ(line.find("page"), std::string::npos) << line;
}

TEST(PushOutput, BuildPageIsUnderApps) {
  EXPECT_EQ(BuildPageUrl("http://127.0.0.1:8080", "shop", 12),
            "http://127.0.0.1:8080/apps/shop/builds/12");
}

}  // namespace
}  // namespace hephy
