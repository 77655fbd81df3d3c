// `hephyd serve`: the daemon's main loop.
#pragma once

#include "hephy/config.h"

namespace hephy {

// Prepares the data directory and database, then serves SSH until SIGINT or
// SIGTERM. Returns the process exit code. Throws Error on start-up failures.
int Serve(const Config& config);

}  // namespace hephy
