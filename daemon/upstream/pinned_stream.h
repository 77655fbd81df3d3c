// The TCP connections of upstream fetches, made by hephyd instead of
// libgit2: registered as libgit2's standard stream, which its http, git and
// ssh transports connect through (https puts its TLS on top), so every one
// goes to an address an EgressPolicy checked, the very address it checked.
// libgit2 resolving the name again (a DNS answer that changed in between)
// never comes into it. A connection whose server sends and takes nothing
// for the thread's timeout fails, naming the host, as does one whose fetch
// is cancelled (libgit2 1.5 has no timeouts of its own). libgit2's ssh
// transport reads through libssh2 on the stream's socket, not through the
// stream: a watchdog thread per connection shuts such a socket down once it
// has carried nothing for the timeout, or the fetch is cancelled, and
// interruption() then says why (libgit2's own error names neither).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

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

  // Why a watchdog cut one of this thread's connections ("HOST did not
  // answer for 60s (upstreams.timeout)", "the fetch from HOST was
  // cancelled"); empty when none was.
  std::string interruption() const;

  // Thread-safe: watchdogs set it, the fetching thread reads it.
  class Interruption {
   public:
    void Set(const std::string& why);  // the first reason stays
    std::string Get() const;

   private:
    mutable std::mutex mutex_;
    std::string why_;
  };

 private:
  const EgressPolicy* previous_policy_;
  std::chrono::milliseconds previous_timeout_;
  std::stop_token previous_cancel_;
  std::shared_ptr<Interruption> previous_interruption_;
  std::shared_ptr<Interruption> interruption_;
};

}  // namespace hephy
