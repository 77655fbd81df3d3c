#include "build/push_options.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(PushOptions, RebuildAllOrNamedUnits) {
  std::vector<std::string> problems;
  EXPECT_TRUE(ParsePushOptions({"rebuild=all"}, problems).rebuild_all);
  const auto named = ParsePushOptions({"rebuild=web,kaniko-debug"}, problems);
  EXPECT_FALSE(named.rebuild_all);
  EXPECT_EQ(named.rebuild_units, (std::vector<std::string>{"web", "kaniko-debug"}));
  EXPECT_TRUE(problems.empty());
}

TEST(PushOptions, PlatformsNarrowTheBuild) {
  std::vector<std::string> problems;
  const auto options = ParsePushOptions({"platforms=linux/amd64,wasi/wasm"}, problems);
  EXPECT_EQ(options.only_platforms, (std::vector<std::string>{"linux/amd64", "wasi/wasm"}));
  EXPECT_TRUE(problems.empty());
}

TEST(PushOptions, NoCacheBuildsEveryStepAnew) {
  std::vector<std::string> problems;
  EXPECT_FALSE(ParsePushOptions({"rebuild=all"}, problems).no_cache);
  EXPECT_TRUE(ParsePushOptions({"no-cache"}, problems).no_cache);
  EXPECT_TRUE(problems.empty());
  ParsePushOptions({"no-cache=yes"}, problems);
  EXPECT_EQ(problems,
            std::vector<std::string>{"push option 'no-cache=yes': no-cache takes no value"});
}

TEST(PushOptions, ColorAlwaysNeverOrAuto) {
  std::vector<std::string> problems;
  EXPECT_EQ(ParsePushOptions({}, problems).color, std::nullopt);
  EXPECT_EQ(ParsePushOptions({"color=never"}, problems).color, ColorMode::kNever);
  EXPECT_EQ(ParsePushOptions({"colour=always"}, problems).color, ColorMode::kAlways);
  EXPECT_EQ(ParsePushOptions({"color=auto"}, problems).color, ColorMode::kAuto);
  EXPECT_TRUE(problems.empty());
  ParsePushOptions({"color=off"}, problems);
  EXPECT_EQ(problems, std::vector<std::string>{"push option 'color=off': expected color=always, "
                                               "color=never or color=auto"});
}

TEST(PushOptions, BadValuesAreProblemsNamingTheOption) {
  std::vector<std::string> problems;
  ParsePushOptions({"rebuild=", "rebuild=a b", "platforms=x86", "platforms"}, problems);
  EXPECT_EQ(problems, (std::vector<std::string>{
                          "push option 'rebuild=': expected rebuild=all or rebuild=UNIT[,UNIT...]",
                          "push option 'rebuild=a b': 'a b' is not a unit name",
                          "push option 'platforms=x86': invalid platform 'x86' (expected "
                          "os/arch[/variant])",
                          "push option 'platforms': expected platforms=OS/ARCH[/VARIANT][,...]",
                      }));
}

TEST(PushOptions, OptionsForOtherServersAreIgnored) {
  std::vector<std::string> problems;
  const auto options = ParsePushOptions({"ci.skip", "merge_request.create"}, problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(options.ignored, (std::vector<std::string>{"ci.skip", "merge_request.create"}));
}

}  // namespace
}  // namespace hephy
