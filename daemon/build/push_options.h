// What a pusher may ask for with `git push -o`: which units to rebuild
// although they did not change, which platforms to build this time, a
// build without the layer cache, and whether its output is coloured.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hephy/config.h"

namespace hephy {

struct PushOptions {
  bool rebuild_all = false;                 // -o rebuild=all
  std::vector<std::string> rebuild_units;   // -o rebuild=web,worker
  std::vector<std::string> only_platforms;  // -o platforms=linux/amd64; empty: every platform
  bool no_cache = false;                    // -o no-cache: every step built anew
  std::optional<ColorMode> color;           // -o color=always|never|auto; unset: push.color
  std::vector<std::string> ignored;         // options for other tools (GitLab's ci.skip, ...)
};

// Reads the options of one push. An empty list or an invalid platform is
// appended to `problems` as "push option 'TEXT': REASON". Options of other
// keys are ignored (and listed as such): mirroring scripts pass options meant
// for other servers. Whether the named units exist is for the planner to say.
PushOptions ParsePushOptions(const std::vector<std::string>& options,
                             std::vector<std::string>& problems);

}  // namespace hephy
