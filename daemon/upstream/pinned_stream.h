// The TCP connections of upstream fetches, made by hephyd instead of
// libgit2: registered as libgit2's standard stream, which its http, git and
// ssh transports connect through (https puts its TLS on top), so every one
// goes to an address an EgressPolicy checked, the very address it checked.
// libgit2 resolving the name again (a DNS answer that changed in between)
// never comes into it. A connection whose server sends and takes nothing
// for the thread's timeout fails, naming the host, as does one whose fetch
// is cancelled (libgit2 1.5 has no timeouts of its own). libgit2's ssh
// transport reads through libssh2 on the stream's socket, not through the
// stream: only its connection is bounded so.
#pragma once

#include <chrono>
#include <stop_token>

#include "net/egress_policy.h"

namespace hephy {

class PinnedConnections {
 public:
  // Registers the stream with libgit2 (once per process; libgit2 must be
  // initialised) and makes `policy` the one for the connections this thread
  // opens while the object lives. A thread without one gets the default
  // policy: public addresses only.
  // `timeout` bounds the connect and each wait for the server; a stop
  // request on `cancel` ends a wait at once.
  PinnedConnections(const EgressPolicy& policy, std::chrono::milliseconds timeout,
                    std::stop_token cancel = {});
  ~PinnedConnections();
  PinnedConnections(const PinnedConnections&) = delete;
  PinnedConnections& operator=(const PinnedConnections&) = delete;

 private:
  const EgressPolicy* previous_policy_;
  std::chrono::milliseconds previous_timeout_;
  std::stop_token previous_cancel_;
};

}  // namespace hephy
