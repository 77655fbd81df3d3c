#include "util/time_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>

#include "hephy/error.h"

namespace hephy {
namespace {

using std::chrono::system_clock;

// Reads exactly `digits` decimal digits at `at`, advancing it.
bool Number(std::string_view text, size_t& at, size_t digits, int& value) {
  if (at + digits > text.size()) return false;
  value = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = text[at + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  at += digits;
  return true;
}

bool Expect(std::string_view text, size_t& at, char c) {
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

// "YYYY-MM-DD" at the start of `text`, a real day of the calendar.
std::optional<std::chrono::sys_days> Date(std::string_view text, size_t& at) {
  int y = 0, m = 0, d = 0;
  if (!Number(text, at, 4, y) || !Expect(text, at, '-') || !Number(text, at, 2, m) ||
      !Expect(text, at, '-') || !Number(text, at, 2, d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day day{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!day.ok()) return std::nullopt;
  return std::chrono::sys_days(day);
}

// system_clock counts nanoseconds: it reaches from 1677 to 2262. Times
// outside are taken as its first or last instant, which compare the same
// way with every time hephyd records.
system_clock::time_point Clamped(std::chrono::sys_seconds when, std::chrono::nanoseconds fraction) {
  const auto first = std::chrono::ceil<std::chrono::seconds>(system_clock::time_point::min());
  const auto last = std::chrono::floor<std::chrono::seconds>(system_clock::time_point::max());
  if (when < first) return system_clock::time_point::min();
  if (when >= last) return system_clock::time_point::max();
  return system_clock::time_point(when) + fraction;
}

std::optional<system_clock::time_point> Rfc3339(std::string_view text) {
  size_t at = 0;
  const auto day = Date(text, at);
  if (!day) return std::nullopt;
  if (at == text.size()) return Clamped(*day, {});
  if (text[at] != 'T' && text[at] != 't' && text[at] != ' ') return std::nullopt;
  ++at;
  int h = 0, m = 0, s = 0;
  if (!Number(text, at, 2, h) || !Expect(text, at, ':') || !Number(text, at, 2, m) ||
      !Expect(text, at, ':') || !Number(text, at, 2, s) || h > 23 || m > 59 || s > 60) {
    return std::nullopt;
  }
  // A leap second is the last instant of its minute.
  std::chrono::sys_seconds when = *day + std::chrono::hours(h) + std::chrono::minutes(m) +
                                  std::chrono::seconds(std::min(s, 59));
  std::chrono::nanoseconds fraction(0);
  if (at < text.size() && text[at] == '.') {
    ++at;
    int64_t scale = 100'000'000;
    const size_t start = at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
      fraction += std::chrono::nanoseconds((text[at] - '0') * scale);
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const bool ahead = text[at++] == '+';
    int oh = 0, om = 0;
    if (!Number(text, at, 2, oh) || !Expect(text, at, ':') || !Number(text, at, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    const auto offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    when = ahead ? when - offset : when + offset;
  } else {
    return std::nullopt;  // RFC 3339 requires the offset
  }
  if (at != text.size()) return std::nullopt;
  return Clamped(when, fraction);
}

std::optional<std::chrono::seconds> Duration(std::string_view text) {
  static constexpr std::string_view kUnits = "dhms";
  static constexpr int64_t kSeconds[] = {86400, 3600, 60, 1};
  std::chrono::seconds total(0);
  size_t at = 0;
  size_t next_unit = 0;  // units go largest first, each once
  while (at < text.size()) {
    const size_t start = at;
    int64_t value = 0;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) &&
           at - start < 9) {
      value = value * 10 + (text[at++] - '0');
    }
    if (at == start || at == text.size()) return std::nullopt;
    const size_t unit = kUnits.find(text[at++]);
    if (unit == std::string_view::npos || unit < next_unit) return std::nullopt;
    next_unit = unit + 1;
    total += std::chrono::seconds(value * kSeconds[unit]);
  }
  if (at == 0) return std::nullopt;
  return total;
}

}  // namespace

std::optional<system_clock::time_point> ParseRfc3339(std::string_view text) {
  return Rfc3339(text);
}

system_clock::time_point ParseSince(std::string_view text, system_clock::time_point now) {
  if (const auto when = Rfc3339(text)) return *when;
  if (const auto back = Duration(text)) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
    return Clamped(seconds - *back, now - seconds);
  }
  throw Error(
      "expected an RFC 3339 time (2025-10-14T10:00:00Z), a date (2025-10-14) or a duration "
      "back from now (24h, 7d, 1h30m), got '" +
      std::string(text) + "'");
}

}  // namespace hephy
