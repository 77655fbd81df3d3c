// Points in time as people write them on the command line (`hephyd audit
// --since`).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace hephy {

// Parses one of:
//   an RFC 3339 time: "2025-10-14T10:00:00Z", "2025-10-14T12:00:00.25+02:00"
//     ('t', 'z' and a space for 'T' are accepted too);
//   a date, meaning its midnight UTC: "2025-10-14";
//   a duration back from `now`: NUMBER+UNIT parts with the units d, h, m and
//     s, largest first: "24h", "7d", "1h30m".
// Throws Error saying which forms are accepted and quoting `text`.
std::chrono::system_clock::time_point ParseSince(std::string_view text,
                                                 std::chrono::system_clock::time_point now);

// An RFC 3339 time alone (or a date alone, its midnight UTC), to the
// nanosecond, as the first form of ParseSince; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace hephy
