// hephyd: the git-push-to-build daemon and its admin command line.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <iostream>

#include "cli.h"

int main(int argc, char** argv) {
  // A client or git that goes away mid-write must surface as EPIPE on that
  // write, not end the daemon.
  signal(SIGPIPE, SIG_IGN);
  // Repositories, the database and host keys are hephyd's alone.
  umask(077);
  // Diagnostics go to stderr; stdout is for command output (lists, JSON).
  spdlog::set_default_logger(spdlog::stderr_color_mt("hephyd"));
  return hephy::RunCli({argv + 1, argv + argc}, {std::cin, std::cout, std::cerr});
}
