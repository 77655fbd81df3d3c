// A container's log followed through the Kubernetes API across streams that
// break: every stream asks for timestamps (timestamps=true puts the
// kubelet's RFC 3339 time and a space before each line), and a reopened one
// for the lines since the last line received (sinceTime=). The API server
// hands sinceTime on to the kubelet in whole seconds, so a reopened stream
// starts with lines already received: those at or before the last one are
// recognised and skipped, the lines of that very instant matched one by
// one, so that each line is handed on once, in order, without its
// timestamp. Not thread-safe: one follower's state.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hephy {

class KubeLogResume {
 public:
  // Starts the next stream: returns the query parameters to add to its
  // target, "&timestamps=true", and once a line has been received
  // "&sinceTime=" the second of the last one (2025-10-14T10:00:07Z,
  // escaped).
  std::string NextStream();

  // One line of the stream (without its newline): the text to hand on,
  // without its timestamp, or nullopt for a line a reopened stream repeats.
  // A line without a timestamp is handed on whole. The view points into
  // `line`.
  std::optional<std::string_view> Take(std::string_view line);

 private:
  using Time = std::chrono::system_clock::time_point;
  std::optional<Time> last_;  // the latest timestamp received
  // The texts received with timestamp last_, in order.
  std::vector<std::string> at_last_;
  // While a reopened stream repeats what was received: how many of
  // at_last_ it has repeated so far.
  bool replaying_ = false;
  size_t repeated_ = 0;
};

}  // namespace hephy
