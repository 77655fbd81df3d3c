// Where a command reads its input and writes its output and errors: the
// process's own streams on the host, the SSH channel's for a remote caller.
#pragma once

#include <iosfwd>

namespace hephy {

struct CliStreams {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

}  // namespace hephy
