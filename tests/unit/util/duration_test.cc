#include "util/duration.h"

#include <gtest/gtest.h>

#include "hephy/error.h"

namespace hephy {
namespace {

TEST(Duration, AcceptsUnitsAndCombinations) {
  EXPECT_EQ(ParseDuration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(ParseDuration("60m"), std::chrono::minutes(60));
  EXPECT_EQ(ParseDuration("2h"), std::chrono::hours(2));
  EXPECT_EQ(ParseDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(ParseDuration("45"), std::chrono::seconds(45));
  for (const char* bad : {"", "0", "0s", "m", "5x", "1h30", "-5m", "10 m", "9999999999s"}) {
    EXPECT_THROW(ParseDuration(bad), Error) << bad;
  }
}

TEST(Duration, IsWrittenAsItIsRead) {
  EXPECT_EQ(FormatDuration(std::chrono::minutes(5)), "5m");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(5400)), "1h30m");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(3661)), "1h1m1s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(45)), "45s");
  EXPECT_EQ(FormatDuration(std::chrono::hours(2)), "2h");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(0)), "0s");
  for (const int seconds : {1, 59, 60, 61, 3599, 3600, 86400, 90061}) {
    EXPECT_EQ(ParseDuration(FormatDuration(std::chrono::seconds(seconds))).count(), seconds);
  }
}

}  // namespace
}  // namespace hephy
