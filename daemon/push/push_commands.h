// The ref updates a git client asks git-receive-pack for: the command list
// that opens what it sends (gitprotocol-pack(5), "Reference Update Request"),
// read from the bytes as they pass on to git, which alone acts on them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "git/push_request.h"

namespace hephy {

class PushCommandReader {
 public:
  // The next bytes the client sent, in order. Cheap once the list is read.
  void Feed(std::string_view bytes);

  // The ref updates, once the flush packet that ends the list has passed
  // (none: the client had nothing to push). Nothing before then, nor when the
  // bytes are not a command list this reader knows (a signed push).
  std::optional<std::vector<RefUpdate>> Updates() const;

 private:
  void Parse(std::string_view payload);

  enum class State { kReading, kDone, kFailed } state_ = State::kReading;
  std::string buffer_;  // the start of a packet not yet complete
  std::vector<RefUpdate> updates_;
};

}  // namespace hephy
