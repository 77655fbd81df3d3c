// The hephyd command line: `hephyd [--config FILE] COMMAND ...`.
#pragma once

#include <string>
#include <vector>

#include "commands/cli_streams.h"

namespace hephy {

// Runs one command line (without the program name). Returns the exit code:
// 0 success, 1 failure, 2 usage error. Errors are printed to io.err.
int RunCli(const std::vector<std::string>& args, CliStreams io);

}  // namespace hephy
