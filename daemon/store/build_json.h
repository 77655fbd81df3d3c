// Builds as JSON: what `hephyd builds list --json` and `builds show --json`
// print, and what the HTTP API serves, in one shape.
#pragma once

#include <nlohmann/json.hpp>

#include "hephy/store.h"

namespace hephy {

// Every field of the build and its jobs; fields not set (yet) are null.
// Field list: docs/hephyd.md, builds show.
nlohmann::json BuildToJson(const Build& build);

}  // namespace hephy
