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

}  // namespace
}  // namespace hephy
