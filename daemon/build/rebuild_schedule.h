// Scheduled rebuilds: when hephyd rebuilds the units a repository lists in
// rebuild-weekly.txt (ARCHITECTURE.md "Build units and build-config.yaml"),
// and reading that list. Pure functions of their arguments.
//
// builder.rebuild_schedule (default weekly), all times UTC:
//   off, never          no scheduled rebuilds
//   @hourly, hourly     0 * * * *  (the start of every hour)
//   @daily, daily       0 0 * * *  (midnight)
//   @weekly, weekly     0 0 * * 0  (Sunday 00:00)
//   @monthly, monthly   0 0 1 * *  (the 1st, 00:00)
//   every DURATION      DURATION after the last run; a duration as for
//                       builder.timeout: 6h, 30m, 90s, 1h30m; at most 87600h
//   MIN HOUR DOM MON DOW
//                       cron: minute 0-59, hour 0-23, day of month 1-31,
//                       month 1-12 or jan-dec, day of week 0-7 or sun-sat (0
//                       and 7 are Sunday). A field is * or a comma-separated
//                       list of N, N-M, */S, N-M/S and N/S (from N to the
//                       field's end), S being a step. As in Vixie cron, when
//                       neither day field starts with *, a day matching
//                       either runs ("0 0 1 * mon": the 1st and every
//                       Monday); otherwise a day must match both. A cron that
//                       can never run ("0 0 31 2 *") is an error.
// Keywords and names are read in any case.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hephy {

// A parsed builder.rebuild_schedule; a plain value, safe to share between
// threads.
class RebuildSchedule {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  // The default: weekly.
  RebuildSchedule();

  // Throws Error naming the text and what is wrong, e.g.
  // "builder.rebuild_schedule: '61 * * * *': minute 61 is out of range 0-59".
  static RebuildSchedule Parse(std::string_view text);

  // The first run strictly after `last_run`: for a cron the first matching
  // minute, for an interval last_run + interval. nullopt when off.
  std::optional<TimePoint> NextAfter(TimePoint last_run) const;

  // Whether a run fell due after `last_run` and at or before `now`. Runs
  // missed while hephyd was down are one due run, not several.
  bool DueAt(TimePoint last_run, TimePoint now) const;

  // The schedule in the syntax above, in a canonical form ("@weekly",
  // "every 1h30m", "0 */6 * * mon-fri", "off") that Parse reads back.
  std::string ToString() const;

 private:
  enum class Kind { kOff, kEvery, kCron };
  // A cron's fields as bit masks: bit N set when value N matches.
  struct Cron {
    uint64_t minutes = 0;     // 0-59
    uint64_t hours = 0;       // 0-23
    uint64_t days = 0;        // 1-31
    uint64_t months = 0;      // 1-12
    uint64_t weekdays = 0;    // 0-6, Sunday 0
    bool any_day = true;      // day-of-month starts with *
    bool any_weekday = true;  // day-of-week starts with *
  };

  explicit RebuildSchedule(Kind kind) : kind_(kind) {}
  std::optional<TimePoint> NextCron(TimePoint last_run) const;
  bool DayMatches(std::chrono::sys_days day) const;

  Kind kind_ = Kind::kOff;
  std::chrono::seconds interval_{0};
  Cron cron_;
  std::string text_;  // canonical
};

// The units of rebuild-weekly.txt: one name a line; '#' starts a comment
// (a whole line or the rest of one); blanks around names and blank lines are
// skipped. Appends to `problems` "FILE:LINE: 'a b' is not a unit name" for
// names that cannot start an image tag (IsValidTag) and "FILE:LINE: unit 'x'
// listed twice" once for each name listed more than once, at its second line.
// Returns the valid names in order, each once, with the line it is first
// on. Whether they are units of the repository is for the caller to check.
struct ListedUnit {
  std::string unit;
  int line;  // 1-based
};
std::vector<ListedUnit> ParseRebuildList(std::string_view text, const std::string& file,
                                         std::vector<std::string>& problems);

}  // namespace hephy
