#include "build/rebuild_schedule.h"

#include <gtest/gtest.h>

#include "build/image_tags.h"
#include "error_of.h"

namespace hephy {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = RebuildSchedule::TimePoint;

TimePoint Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return std::chrono::sys_days(std::chrono::year(y) / mo / d) + hours(h) + minutes(mi) + seconds(s);
}

// 2026-11-25 08:10 UTC, a Wednesday.
const TimePoint kWednesday = Utc(2026, 11, 25, 8, 10);

// The next run after `from`, as RFC 3339 for readable failures; "never" when none.
std::string Next(std::string_view schedule, TimePoint from) {
  const auto next = RebuildSchedule::Parse(schedule).NextAfter(from);
  return next ? Rfc3339(*next) : "never";
}

std::string ParseError(std::string_view text) {
  return ErrorOf([&] { RebuildSchedule::Parse(text); });
}

TEST(RebuildSchedule, DefaultIsWeekly) { EXPECT_EQ(RebuildSchedule().ToString(), "@weekly"); }

TEST(RebuildSchedule, KeywordsRunAtTheirCronTimes) {
  for (const std::string prefix : {"@", ""}) {
    EXPECT_EQ(Next(prefix + "hourly", kWednesday), "2026-11-25T09:00:00Z") << prefix;
    EXPECT_EQ(Next(prefix + "daily", kWednesday), "2026-11-26T00:00:00Z") << prefix;
    EXPECT_EQ(Next(prefix + "weekly", kWednesday), "2026-11-29T00:00:00Z") << prefix;
    EXPECT_EQ(Next(prefix + "monthly", kWednesday), "2026-12-01T00:00:00Z") << prefix;
  }
  EXPECT_EQ(Next("WEEKLY", kWednesday), "2026-11-29T00:00:00Z");
}

TEST(RebuildSchedule, OffAndNeverNeverRun) {
  for (const char* text : {"off", "never", " Off "}) {
    const auto schedule = RebuildSchedule::Parse(text);
    EXPECT_EQ(schedule.NextAfter(kWednesday), std::nullopt) << text;
    EXPECT_FALSE(schedule.DueAt(Utc(2000, 1, 1), kWednesday)) << text;
    EXPECT_EQ(schedule.ToString(), "off");
  }
}

TEST(RebuildSchedule, EveryCountsFromTheLastRun) {
  const TimePoint last = kWednesday + seconds(7);
  EXPECT_EQ(RebuildSchedule::Parse("every 6h").NextAfter(last), last + hours(6));
  EXPECT_EQ(RebuildSchedule::Parse("every 30m").NextAfter(last), last + minutes(30));
  EXPECT_EQ(RebuildSchedule::Parse("every 90s").NextAfter(last), last + seconds(90));
  EXPECT_EQ(RebuildSchedule::Parse("every 1h30m").NextAfter(last), last + minutes(90));
  EXPECT_EQ(RebuildSchedule::Parse("Every  87600h").NextAfter(last), last + hours(87600));
}

TEST(RebuildSchedule, CronRunsStrictlyAfterTheLastRun) {
  EXPECT_EQ(Next("10 8 * * *", kWednesday), "2026-11-26T08:10:00Z");
  EXPECT_EQ(Next("* * * * *", kWednesday), "2026-11-25T08:11:00Z");
  EXPECT_EQ(Next("* * * * *", kWednesday + seconds(30)), "2026-11-25T08:11:00Z");
  EXPECT_EQ(Next("11 8 * * *", kWednesday - seconds(1)), "2026-11-25T08:11:00Z");
}

TEST(RebuildSchedule, CronRollsOverHoursDaysAndYears) {
  EXPECT_EQ(Next("30 23 * * *", Utc(2026, 11, 25, 23, 45)), "2026-11-26T23:30:00Z");
  EXPECT_EQ(Next("5 * * * *", Utc(2026, 11, 25, 23, 45)), "2026-11-26T00:05:00Z");
  EXPECT_EQ(Next("0 0 1 1 *", Utc(2026, 12, 31, 23, 59)), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next("0 6 * 3 *", kWednesday), "2027-03-01T06:00:00Z");
}

TEST(RebuildSchedule, CronSkipsMonthsWithoutTheDay) {
  EXPECT_EQ(Next("0 0 31 * *", Utc(2026, 4, 15)), "2026-05-31T00:00:00Z");
  EXPECT_EQ(Next("0 12 30 * *", Utc(2026, 2, 1)), "2026-03-30T12:00:00Z");
  EXPECT_EQ(Next("0 0 31 4,5 *", Utc(2026, 4, 1)), "2026-05-31T00:00:00Z");
}

TEST(RebuildSchedule, February29thWaitsForALeapYear) {
  EXPECT_EQ(Next("0 0 29 2 *", Utc(2026, 3, 1)), "2028-02-29T00:00:00Z");
  EXPECT_EQ(Next("0 0 29 2 *", Utc(2028, 2, 29)), "2032-02-29T00:00:00Z");
  // 2100 is not a leap year.
  EXPECT_EQ(Next("0 0 29 2 *", Utc(2097, 3, 1)), "2104-02-29T00:00:00Z");
}

TEST(RebuildSchedule, RestrictedDayOfMonthOrDayOfWeekEitherMatches) {
  // Friday the 13th style: the 13th, and every Friday.
  EXPECT_EQ(Next("0 0 13 * 5", kWednesday), "2026-11-27T00:00:00Z");           // Friday
  EXPECT_EQ(Next("0 0 13 * fri", Utc(2026, 12, 12)), "2026-12-13T00:00:00Z");  // a Sunday
  // Both restricted: February 30th never comes, Mondays in February do.
  EXPECT_EQ(Next("0 0 30 2 1", kWednesday), "2027-02-01T00:00:00Z");
}

TEST(RebuildSchedule, DayFieldStartingWithStarMustMatchToo) {
  EXPECT_EQ(Next("0 0 * * 5", kWednesday), "2026-11-27T00:00:00Z");
  EXPECT_EQ(Next("0 0 13 * *", kWednesday), "2026-12-13T00:00:00Z");
  // Days 1, 11, 21, 31 that are Sundays.
  EXPECT_EQ(Next("0 0 */10 * 0", kWednesday), "2027-01-31T00:00:00Z");
}

TEST(RebuildSchedule, StepsRangesAndLists) {
  EXPECT_EQ(Next("0-30/10 * * * *", kWednesday), "2026-11-25T08:20:00Z");
  EXPECT_EQ(Next("0-30/10 * * * *", Utc(2026, 11, 25, 8, 30)), "2026-11-25T09:00:00Z");
  EXPECT_EQ(Next("*/15 * * * *", kWednesday), "2026-11-25T08:15:00Z");
  EXPECT_EQ(Next("50/5 * * * *", Utc(2026, 11, 25, 8, 55)), "2026-11-25T09:50:00Z");
  EXPECT_EQ(Next("5,35 */6 * * *", kWednesday), "2026-11-25T12:05:00Z");
  // Friday 17:45 to Monday morning.
  EXPECT_EQ(Next("*/15 9-17 * * mon-fri", Utc(2026, 11, 27, 17, 45)), "2026-11-30T09:00:00Z");
}

TEST(RebuildSchedule, SevenAndZeroAreSunday) {
  EXPECT_EQ(Next("0 0 * * 7", kWednesday), "2026-11-29T00:00:00Z");
  EXPECT_EQ(Next("0 0 * * 0", kWednesday), "2026-11-29T00:00:00Z");
  EXPECT_EQ(Next("0 0 * * 5-7", kWednesday), "2026-11-27T00:00:00Z");
  EXPECT_EQ(Next("0 0 * * SUN", kWednesday), "2026-11-29T00:00:00Z");
}

TEST(RebuildSchedule, MonthNames) {
  EXPECT_EQ(Next("0 0 1 jan *", kWednesday), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next("0 0 1 Feb-Mar *", kWednesday), "2027-02-01T00:00:00Z");
}

TEST(RebuildSchedule, MissedRunIsDueOnce) {
  const auto weekly = RebuildSchedule::Parse("weekly");
  // Last run three Sundays ago: due now.
  EXPECT_TRUE(weekly.DueAt(Utc(2026, 11, 8), kWednesday));
  // Last run last Sunday: the next is next Sunday.
  EXPECT_FALSE(weekly.DueAt(Utc(2026, 11, 22), kWednesday));
  EXPECT_TRUE(weekly.DueAt(Utc(2026, 11, 22), Utc(2026, 11, 29)));
  EXPECT_FALSE(weekly.DueAt(Utc(2026, 11, 22), Utc(2026, 11, 29) - seconds(1)));

  const auto every = RebuildSchedule::Parse("every 6h");
  EXPECT_FALSE(every.DueAt(Utc(2026, 11, 25), Utc(2026, 11, 25, 5, 59)));
  EXPECT_TRUE(every.DueAt(Utc(2026, 11, 25), Utc(2026, 11, 25, 6)));
  EXPECT_TRUE(every.DueAt(Utc(2026, 11, 1), kWednesday));
}

TEST(RebuildSchedule, ToStringIsCanonicalAndParsesBack) {
  EXPECT_EQ(RebuildSchedule::Parse("Weekly").ToString(), "@weekly");
  EXPECT_EQ(RebuildSchedule::Parse("@daily").ToString(), "@daily");
  EXPECT_EQ(RebuildSchedule::Parse("never").ToString(), "off");
  EXPECT_EQ(RebuildSchedule::Parse("every 90m").ToString(), "every 1h30m");
  EXPECT_EQ(RebuildSchedule::Parse("every 90s").ToString(), "every 1m30s");
  EXPECT_EQ(RebuildSchedule::Parse("every 2h0m").ToString(), "every 2h");
  EXPECT_EQ(RebuildSchedule::Parse("  0  */6 * *\tMON-FRI ").ToString(), "0 */6 * * mon-fri");
  for (const char* text : {"@weekly", "off", "every 1h30m", "every 45", "0 */6 * * mon-fri"}) {
    const auto once = RebuildSchedule::Parse(text).ToString();
    EXPECT_EQ(RebuildSchedule::Parse(once).ToString(), once) << text;
  }
}

TEST(RebuildSchedule, OutOfRangeValuesNameTheFieldAndRange) {
  EXPECT_EQ(ParseError("61 * * * *"),
            "builder.rebuild_schedule: '61 * * * *': minute 61 is out of range 0-59");
  EXPECT_EQ(ParseError("0 24 * * *"),
            "builder.rebuild_schedule: '0 24 * * *': hour 24 is out of range 0-23");
  EXPECT_EQ(ParseError("0 0 0 * *"),
            "builder.rebuild_schedule: '0 0 0 * *': day-of-month 0 is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 1 13 *"),
            "builder.rebuild_schedule: '0 0 1 13 *': month 13 is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 * * 8"),
            "builder.rebuild_schedule: '0 0 * * 8': day-of-week 8 is out of range 0-7");
  EXPECT_EQ(ParseError("0 0 * * 1-9"),
            "builder.rebuild_schedule: '0 0 * * 1-9': day-of-week 9 is out of range 0-7");
  EXPECT_EQ(ParseError("99999999999 * * * *"),
            "builder.rebuild_schedule: '99999999999 * * * *': minute 99999999999 is out of "
            "range 0-59");
}

TEST(RebuildSchedule, MalformedFieldsAreErrors) {
  EXPECT_EQ(ParseError("x * * * *"),
            "builder.rebuild_schedule: 'x * * * *': minute 'x' is not a number");
  EXPECT_EQ(ParseError("0 0 1 foo *"),
            "builder.rebuild_schedule: '0 0 1 foo *': month 'foo' is not a number or a name "
            "(jan-dec)");
  EXPECT_EQ(ParseError("0 0 * * monday"),
            "builder.rebuild_schedule: '0 0 * * monday': day-of-week 'monday' is not a number "
            "or a name (sun-sat)");
  EXPECT_EQ(ParseError("30-10 * * * *"),
            "builder.rebuild_schedule: '30-10 * * * *': minute range 30-10 is backwards");
  EXPECT_EQ(ParseError("*/0 * * * *"),
            "builder.rebuild_schedule: '*/0 * * * *': minute step must be at least 1, got 0");
  EXPECT_EQ(ParseError("*/x * * * *"),
            "builder.rebuild_schedule: '*/x * * * *': minute step 'x' is not a number");
  EXPECT_EQ(ParseError("1,,2 * * * *"),
            "builder.rebuild_schedule: '1,,2 * * * *': minute list '1,,2' has an empty item");
  EXPECT_EQ(ParseError("-5 * * * *"),
            "builder.rebuild_schedule: '-5 * * * *': minute '-5' is missing a number");
  EXPECT_EQ(ParseError("* * * *"),
            "builder.rebuild_schedule: '* * * *': expected 5 cron fields (MIN HOUR DOM MON "
            "DOW), got 4");
  EXPECT_EQ(ParseError("* * * * * *"),
            "builder.rebuild_schedule: '* * * * * *': expected 5 cron fields (MIN HOUR DOM MON "
            "DOW), got 6");
}

TEST(RebuildSchedule, CronThatNeverRunsIsAnError) {
  EXPECT_EQ(ParseError("0 0 31 2 *"),
            "builder.rebuild_schedule: '0 0 31 2 *': day-of-month 31 never occurs in month 2, "
            "so it never runs");
  EXPECT_EQ(ParseError("0 0 30,31 feb *"),
            "builder.rebuild_schedule: '0 0 30,31 feb *': day-of-month 30,31 never occurs in "
            "month feb, so it never runs");
  EXPECT_NO_THROW(RebuildSchedule::Parse("0 0 31 2,3 *"));
  EXPECT_NO_THROW(RebuildSchedule::Parse("0 0 29 2 *"));
}

TEST(RebuildSchedule, UnknownWordsAndBadIntervalsAreErrors) {
  const std::string expected =
      "expected off, @hourly, @daily, @weekly, @monthly, every DURATION or a cron expression "
      "(MIN HOUR DOM MON DOW)";
  EXPECT_EQ(ParseError(""), "builder.rebuild_schedule: '': empty; " + expected);
  EXPECT_EQ(ParseError("fortnightly"),
            "builder.rebuild_schedule: 'fortnightly': not a schedule; " + expected);
  EXPECT_EQ(ParseError("@yearly"),
            "builder.rebuild_schedule: '@yearly': unknown keyword; " + expected);
  EXPECT_EQ(ParseError("every"),
            "builder.rebuild_schedule: 'every': expected one duration after 'every', e.g. "
            "every 6h");
  EXPECT_EQ(ParseError("every 1h 30m"),
            "builder.rebuild_schedule: 'every 1h 30m': expected one duration after 'every', "
            "e.g. every 6h");
  EXPECT_EQ(ParseError("every 5x"),
            "builder.rebuild_schedule: 'every 5x': expected a duration such as 90s, 60m or "
            "1h30m, got '5x'");
  EXPECT_EQ(ParseError("every 0s"),
            "builder.rebuild_schedule: 'every 0s': expected a duration such as 90s, 60m or "
            "1h30m, got '0s'");
  EXPECT_EQ(ParseError("every 87601h"),
            "builder.rebuild_schedule: 'every 87601h': every 87601h is longer than 87600h (10 "
            "years)");
}

std::vector<std::string> Names(const std::vector<ListedUnit>& units) {
  std::vector<std::string> names;
  for (const auto& listed : units) names.push_back(listed.unit);
  return names;
}

std::vector<std::string> ListProblems(std::string_view text) {
  std::vector<std::string> problems;
  ParseRebuildList(text, "rebuild-weekly.txt", problems);
  return problems;
}

TEST(RebuildScheduleList, ReadsOneNamePerLineSkippingCommentsAndBlanks) {
  std::vector<std::string> problems;
  const auto units = ParseRebuildList(
      "# rebuilt every week for security updates\n"
      "base\n"
      "\n"
      "  kaniko-debug   # trailing comment\r\n"
      "\t\n"
      "tools-web",
      "rebuild-weekly.txt", problems);
  EXPECT_EQ(Names(units), (std::vector<std::string>{"base", "kaniko-debug", "tools-web"}));
  EXPECT_EQ(units.at(1).line, 4);
  EXPECT_TRUE(problems.empty());
}

TEST(RebuildScheduleList, DuplicatesAreReportedOnceAndListedOnce) {
  std::vector<std::string> problems;
  const auto units =
      ParseRebuildList("base\nweb\nbase\nbase # again\n", "rebuild-weekly.txt", problems);
  EXPECT_EQ(Names(units), (std::vector<std::string>{"base", "web"}));
  EXPECT_EQ(problems, std::vector<std::string>{"rebuild-weekly.txt:3: unit 'base' listed twice"});
}

TEST(RebuildScheduleList, InvalidNamesAreReportedWithTheirLine) {
  EXPECT_EQ(ListProblems("ok\na b\n.hidden\n"),
            (std::vector<std::string>{"rebuild-weekly.txt:2: 'a b' is not a unit name",
                                      "rebuild-weekly.txt:3: '.hidden' is not a unit name"}));
}

TEST(RebuildScheduleList, EmptyFileListsNothing) {
  std::vector<std::string> problems;
  EXPECT_TRUE(ParseRebuildList("", "rebuild-weekly.txt", problems).empty());
  EXPECT_TRUE(ParseRebuildList("# nothing yet\n\n", "rebuild-weekly.txt", problems).empty());
  EXPECT_TRUE(problems.empty());
}

}  // namespace
}  // namespace hephy
