// An HTTP proxy on a loopback port of its own for the programs hephyd runs
// on a pusher's behalf: buildah pulling a Dockerfile's FROM images and
// fetching its ADD URLs goes through it (HTTPS_PROXY, HTTP_PROXY). It takes
// CONNECT (https) and absolute-form requests (plain http), and connects only
// where its EgressPolicy allows, to the very addresses the policy checked; a
// plain-http redirect to a refused host is refused too. Each refusal answers
// 403 with the reason as the status text (Go programs show that text as the
// error) and is kept for the job's error message.
//
// Go programs send nothing for a loopback address or "localhost" through a
// proxy: those are the Dockerfile check's (build/dockerfile_fetches.h).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/egress_policy.h"
#include "net/http_head.h"
#include "util/process.h"
#include "util/thread_group.h"

namespace hephy {

class EgressProxy {
 public:
  // Listens on 127.0.0.1, on a port of the system's choosing; throws Error
  // when it cannot.
  explicit EgressProxy(EgressPolicy policy);
  // Closes the listener and every connection, and waits for their threads.
  ~EgressProxy();
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  // "http://127.0.0.1:PORT", as HTTP_PROXY takes it.
  std::string url() const;
  // What was refused so far, one message each: "https://HOST:PORT: REASON".
  std::vector<std::string> Refusals() const;

 private:
  void Accept();
  void Serve(UniqueFd client);
  // A connection to `authority`'s addresses the policy allows; an empty one
  // when the policy refuses (answered 403, kept as "`what`: REASON") or none
  // accepts (answered 502).
  UniqueFd Connect(int client, const std::string& what, const Authority& authority);

  EgressPolicy policy_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  // Closing stop_write_ wakes every connection's poll on stop_read_.
  UniqueFd stop_read_;
  UniqueFd stop_write_;
  mutable std::mutex mutex_;
  std::vector<std::string> refusals_;
  ThreadGroup connections_;
  std::thread acceptor_;
};

}  // namespace hephy
