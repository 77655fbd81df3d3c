// hephyd: the git-push-to-build daemon and its admin command line.
#include <signal.h>

#include <iostream>

#include "cli.h"

int main(int argc, char** argv) {
  // A client or git that goes away mid-write must surface as EPIPE on that
  // write, not end the daemon.
  signal(SIGPIPE, SIG_IGN);
  return hephy::RunCli({argv + 1, argv + argc}, {std::cin, std::cout, std::cerr});
}
