#include "build/rebuild_schedule.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <span>

#include "build/build_config.h"
#include "hephy/error.h"
#include "util/duration.h"
#include "util/split.h"

namespace hephy {
namespace {

namespace chrono = std::chrono;

constexpr auto kMaxInterval = chrono::hours(87600);

constexpr std::string_view kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::string_view kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct Field {
  std::string_view name;
  int min;
  int max;
  std::span<const std::string_view> names;  // names[i] means min + i
};

constexpr Field kMinute{"minute", 0, 59, {}};
constexpr Field kHour{"hour", 0, 23, {}};
constexpr Field kDay{"day-of-month", 1, 31, {}};
constexpr Field kMonth{"month", 1, 12, kMonthNames};
constexpr Field kWeekday{"day-of-week", 0, 7, kDayNames};

// Problems are thrown as Error with the reason alone; Parse puts the setting
// and the text in front.
[[noreturn]] void Invalid(const std::string& reason) { throw Error(reason); }

std::string Join(const std::vector<std::string_view>& words, std::string_view separator) {
  std::string out;
  for (const auto word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const size_t begin = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > begin) words.push_back(text.substr(begin, i - begin));
  }
  return words;
}

// A value of `field` in `item` (of the field's text), by number or name.
int Value(std::string_view word, std::string_view item, const Field& field) {
  const std::string name(field.name);
  if (word.empty()) Invalid(name + " '" + std::string(item) + "' is missing a number");
  for (size_t i = 0; i < field.names.size(); ++i) {
    if (word == field.names[i]) return field.min + static_cast<int>(i);
  }
  int value = 0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (error == std::errc::invalid_argument || end != word.data() + word.size() || word[0] == '-') {
    Invalid(name + " '" + std::string(word) + "' is not a number" +
            (field.names.empty() ? ""
                                 : " or a name (" + std::string(field.names.front()) + "-" +
                                       std::string(field.names.back()) + ")"));
  }
  if (error == std::errc::result_out_of_range || value < field.min || value > field.max) {
    Invalid(name + " " + std::string(word) + " is out of range " + std::to_string(field.min) + "-" +
            std::to_string(field.max));
  }
  return value;
}

// The values a field's text matches, as a bit mask.
uint64_t ParseField(std::string_view text, const Field& field) {
  const std::string name(field.name);
  uint64_t mask = 0;
  for (const auto item : SplitOn(text, ',')) {
    if (item.empty()) Invalid(name + " list '" + std::string(text) + "' has an empty item");
    const size_t slash = item.find('/');
    const auto range = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      const auto step_text = item.substr(slash + 1);
      const auto [end, error] =
          std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (step_text.empty() || step_text[0] == '-' || error != std::errc() ||
          end != step_text.data() + step_text.size()) {
        Invalid(name + " step '" + std::string(step_text) + "' is not a number");
      }
      if (step == 0) Invalid(name + " step must be at least 1, got 0");
    }
    int first = field.min;
    int last = field.max;
    if (range != "*") {
      const size_t dash = range.find('-');
      first = Value(range.substr(0, dash), item, field);
      if (dash != std::string_view::npos) {
        last = Value(range.substr(dash + 1), item, field);
        if (first > last) Invalid(name + " range " + std::string(range) + " is backwards");
      } else if (slash == std::string_view::npos) {
        last = first;
      }
    }
    for (int value = first; value <= last; value += step) mask |= uint64_t{1} << value;
  }
  return mask;
}

bool Has(uint64_t mask, int value) { return (mask >> value) & 1; }

// The first value from `from` to `max` in `mask`; -1 if none.
int NextIn(uint64_t mask, int from, int max) {
  for (int value = from; value <= max; ++value) {
    if (Has(mask, value)) return value;
  }
  return -1;
}

// The most days a month has (February 29, in leap years).
int MaxDays(int month) {
  constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month - 1];
}

const std::map<std::string_view, std::string_view> kKeywords = {
    {"hourly", "0 * * * *"},
    {"daily", "0 0 * * *"},
    {"weekly", "0 0 * * 0"},
    {"monthly", "0 0 1 * *"},
};

constexpr std::string_view kExpected =
    "expected off, @hourly, @daily, @weekly, @monthly, every DURATION or a cron expression "
    "(MIN HOUR DOM MON DOW)";

}  // namespace

RebuildSchedule::RebuildSchedule() { *this = Parse("@weekly"); }

RebuildSchedule RebuildSchedule::Parse(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const auto words = Words(lower);
  RebuildSchedule schedule(Kind::kOff);
  try {
    if (words.empty()) Invalid("empty; " + std::string(kExpected));
    if (words.size() == 1 && (words[0] == "off" || words[0] == "never")) {
      schedule.kind_ = Kind::kOff;
      schedule.text_ = "off";
      return schedule;
    }
    if (words[0] == "every") {
      if (words.size() != 2) Invalid("expected one duration after 'every', e.g. every 6h");
      schedule.kind_ = Kind::kEvery;
      schedule.interval_ = ParseDuration(std::string(words[1]));
      if (schedule.interval_ > kMaxInterval) {
        Invalid("every " + std::string(words[1]) + " is longer than 87600h (10 years)");
      }
      schedule.text_ = "every " + FormatDuration(schedule.interval_);
      return schedule;
    }
    std::vector<std::string_view> fields = words;
    std::string keyword_text;
    if (words.size() == 1) {
      const auto keyword = kKeywords.find(words[0].substr(words[0].starts_with('@') ? 1 : 0));
      if (keyword == kKeywords.end()) {
        Invalid(std::string(words[0].starts_with('@') ? "unknown keyword; " : "not a schedule; ") +
                std::string(kExpected));
      }
      keyword_text = "@" + std::string(keyword->first);
      fields = Words(keyword->second);
    }
    if (fields.size() != 5) {
      Invalid("expected 5 cron fields (MIN HOUR DOM MON DOW), got " +
              std::to_string(fields.size()));
    }
    Cron& cron = schedule.cron_;
    cron.minutes = ParseField(fields[0], kMinute);
    cron.hours = ParseField(fields[1], kHour);
    cron.days = ParseField(fields[2], kDay);
    cron.months = ParseField(fields[3], kMonth);
    cron.weekdays = ParseField(fields[4], kWeekday);
    if (Has(cron.weekdays, 7)) cron.weekdays = (cron.weekdays & ~(uint64_t{1} << 7)) | 1;
    cron.any_day = fields[2].starts_with('*');
    cron.any_weekday = fields[4].starts_with('*');
    // Only a day-of-month that alone decides the day can miss every month;
    // a day-of-week, or a day-of-month starting with * (which holds the 1st),
    // falls on some day of every month eventually.
    if (!cron.any_day && cron.any_weekday) {
      bool possible = false;
      for (int month = 1; month <= 12; ++month) {
        if (Has(cron.months, month) && NextIn(cron.days, 1, MaxDays(month)) > 0) possible = true;
      }
      if (!possible) {
        Invalid("day-of-month " + std::string(fields[2]) + " never occurs in month " +
                std::string(fields[3]) + ", so it never runs");
      }
    }
    schedule.kind_ = Kind::kCron;
    schedule.text_ = keyword_text.empty() ? Join(fields, " ") : keyword_text;
    return schedule;
  } catch (const Error& e) {
    throw Error("builder.rebuild_schedule: '" + std::string(text) + "': " + e.what());
  }
}

std::optional<RebuildSchedule::TimePoint> RebuildSchedule::NextAfter(TimePoint last_run) const {
  switch (kind_) {
    case Kind::kOff:
      return std::nullopt;
    case Kind::kEvery:
      return last_run + interval_;
    case Kind::kCron:
      return NextCron(last_run);
  }
  return std::nullopt;
}

bool RebuildSchedule::DueAt(TimePoint last_run, TimePoint now) const {
  const auto next = NextAfter(last_run);
  return next && *next <= now;
}

std::string RebuildSchedule::ToString() const { return text_; }

bool RebuildSchedule::DayMatches(chrono::sys_days day) const {
  const bool by_date =
      Has(cron_.days, static_cast<int>(static_cast<unsigned>(chrono::year_month_day(day).day())));
  const bool by_weekday = Has(cron_.weekdays, static_cast<int>(chrono::weekday(day).c_encoding()));
  return cron_.any_day || cron_.any_weekday ? by_date && by_weekday : by_date || by_weekday;
}

// Advances field by field, from the month down, each time to the next value
// the field allows (and the smaller fields to their start); a day at a time
// only for the day, where month length and weekday meet.
std::optional<RebuildSchedule::TimePoint> RebuildSchedule::NextCron(TimePoint last_run) const {
  chrono::sys_time<chrono::minutes> at =
      chrono::floor<chrono::minutes>(last_run) + chrono::minutes(1);
  // The calendar repeats every 400 years, and Parse turned away crons that
  // never run; the limit only guards the loop.
  const auto give_up =
      chrono::year_month_day(chrono::floor<chrono::days>(at)).year() + chrono::years(401);
  while (true) {
    const auto day = chrono::floor<chrono::days>(at);
    const chrono::year_month_day date(day);
    if (date.year() > give_up) return std::nullopt;
    const int month = static_cast<int>(static_cast<unsigned>(date.month()));
    const int next_month = NextIn(cron_.months, month, 12);
    if (next_month < 0) {
      at = chrono::sys_days((date.year() + chrono::years(1)) / chrono::January / 1);
      continue;
    }
    if (next_month != month) {
      at = chrono::sys_days(date.year() / chrono::month(next_month) / 1);
      continue;
    }
    if (!DayMatches(day)) {
      at = day + chrono::days(1);
      continue;
    }
    const int hour = static_cast<int>(chrono::floor<chrono::hours>(at - day).count());
    const int next_hour = NextIn(cron_.hours, hour, 23);
    if (next_hour < 0) {
      at = day + chrono::days(1);
      continue;
    }
    if (next_hour != hour) {
      at = day + chrono::hours(next_hour);
      continue;
    }
    const int minute = static_cast<int>((at - day - chrono::hours(hour)).count());
    const int next_minute = NextIn(cron_.minutes, minute, 59);
    if (next_minute < 0) {
      at = day + chrono::hours(hour + 1);
      continue;
    }
    return day + chrono::hours(hour) + chrono::minutes(next_minute);
  }
}

std::vector<ListedUnit> ParseRebuildList(std::string_view text, const std::string& file,
                                         std::vector<std::string>& problems) {
  std::vector<ListedUnit> units;
  std::map<std::string, int> seen;
  int number = 0;
  for (auto line : SplitOn(text, '\n')) {
    ++number;
    line = line.substr(0, line.find('#'));
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
      line.remove_prefix(1);
    }
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    if (line.empty()) continue;
    const std::string name(line);
    const std::string where = file + ":" + std::to_string(number) + ": ";
    if (!IsValidTag(name)) {
      problems.push_back(where + "'" + name + "' is not a unit name");
      continue;
    }
    const int times = ++seen[name];
    if (times == 1) units.push_back({name, number});
    if (times == 2) problems.push_back(where + "unit '" + name + "' listed twice");
  }
  return units;
}

}  // namespace hephy
