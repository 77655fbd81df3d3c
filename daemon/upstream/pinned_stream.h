// The TCP connections of upstream fetches, made by hephyd instead of
// libgit2: registered as libgit2's standard stream, which its http, git and
// ssh transports connect through (https puts its TLS on top), so every one
// goes to an address an EgressPolicy checked, the very address it checked.
// libgit2 resolving the name again (a DNS answer that changed in between)
// never comes into it.
#pragma once

#include "net/egress_policy.h"

namespace hephy {

class PinnedConnections {
 public:
  // Registers the stream with libgit2 (once per process; libgit2 must be
  // initialised) and makes `policy` the one for the connections this thread
  // opens while the object lives. A thread without one gets the default
  // policy: public addresses only.
  explicit PinnedConnections(const EgressPolicy& policy);
  ~PinnedConnections();
  PinnedConnections(const PinnedConnections&) = delete;
  PinnedConnections& operator=(const PinnedConnections&) = delete;

 private:
  const EgressPolicy* previous_;
};

}  // namespace hephy
