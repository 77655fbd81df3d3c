#include "util/ascii.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(Ascii, LowersAsciiLettersOnly) {
  EXPECT_EQ(AsciiLower("Proxy-Connection: KEEP-alive 42 \xc3\x89"),
            "proxy-connection: keep-alive 42 \xc3\x89");
  EXPECT_EQ(AsciiLower(""), "");
}

TEST(Ascii, ComparesIgnoringTheCaseOfAsciiLetters) {
  EXPECT_TRUE(EqualsIgnoreCase("Location", "LOCATION"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("Host", "Hosts"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\x89", "\xc3\xa9"));
  EXPECT_FALSE(EqualsIgnoreCase("a-b", "a_b"));
}

}  // namespace
}  // namespace hephy
