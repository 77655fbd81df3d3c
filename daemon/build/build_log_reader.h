// Reads the logs of one build's jobs as `hephyd logs` prints them and
// GET /api/v1/builds/ID/logs serves them: each job's lines, prefixed with
// "[PLATFORM] " when several jobs' lines go out together, as the pusher saw
// them live. Either all at once, or followed while the build runs.
#pragma once

#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "hephy/store.h"
#include "util/log_tail.h"

namespace hephy {

class BuildLogReader {
 public:
  // One line, without its '\n'.
  using Line = std::function<void(std::string_view line)>;

  // The logs of `build`'s jobs, or of its job for `platform` only (then
  // without a prefix). Throws Error "build ID has no job for platform 'P'
  // (its platforms: A, B)". Opens nothing yet.
  BuildLogReader(const Build& build, const std::optional<std::string>& platform);

  // Every line the logs hold, one job after the other, each to its end.
  void ReadAll(const Line& line);

  // For a build that is queued or running: passes on what the logs hold,
  // then the lines as the builder appends them, the jobs' lines interleaved
  // as they come, until the build has finished (its status is read from
  // `store` every 500 ms) and every log is read to its end. Calls `flush`
  // after each pass over the logs. Returns true then; false as soon as
  // `flush` returns false (nobody is left to read) or `stop` is requested,
  // within 500 ms. Throws Error when the build is removed meanwhile or a
  // log cannot be read.
  bool Follow(Store& store, const Line& line, const std::function<bool()>& flush,
              std::stop_token stop = {});

  // One note per job without a log file (it never started, or the file was
  // removed): "no log for PLATFORM (job STATUS): PATH does not exist".
  std::vector<std::string> MissingLogs() const;

 private:
  struct JobLog {
    std::string platform;
    std::string status;
    std::string prefix;
    LogTail tail;
  };
  void Pass(const Line& line, bool to_end);

  int64_t build_id_;
  std::vector<JobLog> logs_;
};

}  // namespace hephy
