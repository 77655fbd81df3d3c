#include "executors/kube_log_resume.h"

#include <ctime>

#include "executors/kube_client.h"
#include "util/time_spec.h"

namespace hephy {

std::string KubeLogResume::NextStream() {
  std::string query = "&timestamps=true";
  if (!last_) return query;
  replaying_ = true;
  repeated_ = 0;
  const std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(*last_));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return query + "&sinceTime=" + KubeQueryEscape(text);
}

std::optional<std::string_view> KubeLogResume::Take(std::string_view line) {
  const size_t space = line.find(' ');
  const std::optional<Time> when = ParseRfc3339(line.substr(0, space));
  if (!when) return line;
  const std::string_view text =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  if (replaying_) {
    if (*when < *last_) return std::nullopt;
    if (*when == *last_ && repeated_ < at_last_.size() && at_last_[repeated_] == text) {
      ++repeated_;
      return std::nullopt;
    }
    // The first line not received before: from here on the stream is new.
    replaying_ = false;
  }
  if (!last_ || *when > *last_) {
    last_ = when;
    at_last_.clear();
  }
  // A line older than the last one (stdout and stderr are timed apart) is
  // handed on, and leaves last_ as it is.
  if (*when == *last_) at_last_.emplace_back(text);
  return text;
}

}  // namespace hephy
