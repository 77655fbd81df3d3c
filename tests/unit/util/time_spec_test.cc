#include "util/time_spec.h"

#include <gtest/gtest.h>

#include "hephy/error.h"

namespace hephy {
namespace {

using namespace std::chrono;

// 2025-10-14T10:00:00Z
const system_clock::time_point kNow = sys_days(year(2025) / 10 / 14) + hours(10);

system_clock::time_point Since(const std::string& text) { return ParseSince(text, kNow); }

std::string ErrorOf(const std::string& text) {
  try {
    Since(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ParseSince, Rfc3339TimesInAnyOffset) {
  EXPECT_EQ(Since("2025-10-14T10:00:00Z"), kNow);
  EXPECT_EQ(Since("2025-10-14t10:00:00z"), kNow);
  EXPECT_EQ(Since("2025-10-14 10:00:00Z"), kNow);
  EXPECT_EQ(Since("2025-10-14T12:30:00+02:30"), kNow);
  EXPECT_EQ(Since("2025-10-14T05:00:00-05:00"), kNow);
  EXPECT_EQ(Since("2025-10-14T10:00:00.25Z"), kNow + milliseconds(250));
  EXPECT_EQ(Since("2016-12-31T23:59:60Z"), sys_days(year(2017) / 1 / 1) - seconds(1));
}

TEST(ParseSince, DateIsItsMidnightUtc) {
  EXPECT_EQ(Since("2025-10-14"), kNow - hours(10));
  EXPECT_EQ(Since("2024-02-29"), system_clock::time_point(sys_days(year(2024) / 2 / 29)));
}

TEST(ParseSince, DurationsGoBackFromNow) {
  EXPECT_EQ(Since("24h"), kNow - hours(24));
  EXPECT_EQ(Since("7d"), kNow - days(7));
  EXPECT_EQ(Since("1h30m"), kNow - minutes(90));
  EXPECT_EQ(Since("90s"), kNow - seconds(90));
  EXPECT_EQ(Since("1d2h3m4s"), kNow - (days(1) + hours(2) + minutes(3) + seconds(4)));
  EXPECT_EQ(Since("0s"), kNow);
}

TEST(ParseSince, TimesBeyondTheClockAreItsEnds) {
  EXPECT_EQ(Since("2999-01-01T00:00:00Z"), system_clock::time_point::max());
  EXPECT_EQ(Since("0001-01-01"), system_clock::time_point::min());
  EXPECT_EQ(Since("999999999d"), system_clock::time_point::min());
}

TEST(ParseSince, AnythingElseIsAnErrorQuotingIt) {
  EXPECT_EQ(ErrorOf("yesterday"),
            "expected an RFC 3339 time (2025-10-14T10:00:00Z), a date (2025-10-14) or a "
            "duration back from now (24h, 7d, 1h30m), got 'yesterday'");
  for (const char* bad : {"", "24", "h", "7w", "1m1h", "1h1h", "-1h", "2025-13-01", "2025-02-30",
                          "2023-02-29", "2025-10-14T10:00:00", "2025-10-14T25:00:00Z",
                          "2025-10-14T10:00Z", "2025-10-14T10:00:00.Z", "2025-10-14T10:00:00+0200",
                          "2025-10-14T10:00:00Zjunk", "25-10-14", "2025/10/14", "1234567890h"}) {
    EXPECT_NE(ErrorOf(bad).find("got '"), std::string::npos) << bad;
  }
}

TEST(ParseRfc3339, ReadsNanosecondsAndRefusesTheOtherForms) {
  EXPECT_EQ(ParseRfc3339("2025-10-14T10:00:00.123456789Z"), kNow + nanoseconds(123456789));
  EXPECT_EQ(ParseRfc3339("2025-10-14T12:00:00.5+02:00"), kNow + milliseconds(500));
  for (const char* other : {"24h", "7d", "", "2025-10-14T10:00:00", "2025-10-14T10:00:00Z INFO"}) {
    EXPECT_FALSE(ParseRfc3339(other).has_value()) << other;
  }
}

}  // namespace
}  // namespace hephy
