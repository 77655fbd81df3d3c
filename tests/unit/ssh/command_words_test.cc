#include "ssh/command_words.h"

#include <gtest/gtest.h>

#include "error_of.h"

namespace hephy {
namespace {

using Words = std::vector<std::string>;

TEST(CommandWords, SplitsAtSpacesSkippingRuns) {
  EXPECT_EQ(SplitCommandWords("builds list --app web"), (Words{"builds", "list", "--app", "web"}));
  EXPECT_EQ(SplitCommandWords("  whoami   --json "), (Words{"whoami", "--json"}));
}

TEST(CommandWords, QuotesKeepSpacesAndMayBeEmpty) {
  EXPECT_EQ(SplitCommandWords("a 'b c' \"d 'e'\" f''g ''"), (Words{"a", "b c", "d 'e'", "fg", ""}));
}

TEST(CommandWords, NothingShellLikeIsInterpreted) {
  EXPECT_EQ(SplitCommandWords("logs $(id) ; rm -rf * | x"),
            (Words{"logs", "$(id)", ";", "rm", "-rf", "*", "|", "x"}));
  EXPECT_EQ(SplitCommandWords("a\\ b"), (Words{"a\\", "b"}));
}

TEST(CommandWords, ControlCharactersUnclosedQuotesAndEmptyCommandsAreRefused) {
  EXPECT_EQ(ErrorOf([] { SplitCommandWords("whoami\nusers list"); }),
            "the command holds a control character");
  EXPECT_EQ(ErrorOf([] { SplitCommandWords("a\tb"); }), "the command holds a control character");
  EXPECT_EQ(ErrorOf([] { SplitCommandWords("apps info 'web"); }), "the command has an unclosed '");
  EXPECT_EQ(ErrorOf([] { SplitCommandWords("   "); }), "no command given; try 'help'");
}

}  // namespace
}  // namespace hephy
