// git's smart HTTP protocol (gitprotocol-http(5)) on hephyd's HTTP listener:
// clone, fetch (protocol v0 and v2) and push, as over SSH. The same rights
// (rights.h), push limits, drain, pre-receive hook, build and audit record;
// the build's lines reach the pusher as git's "remote:" sideband while it
// runs, and a client that hangs up cancels it.
//
// Credentials are HTTP Basic: a user name with one of their API tokens, or
// any user name with a deploy token (one app, read or write). A request
// without them is answered 401 with a Basic challenge, which makes git ask
// its credential helper; wrong ones count as failures of the client's address
// in the SSH front's throttle (ssh.auth_failures). Over plain HTTP on a
// listener that is not loopback, credentials are refused unless a
// TLS-terminating proxy is trusted (http.trust_proxy) and says the client
// spoke HTTPS.
//
// Bodies pass between the socket and git's process as they come, in bounded
// buffers; a gzip-encoded request body is decoded on the way.
#pragma once

#include "api/http_server.h"
#include "git/repo_store.h"
#include "hephy/config.h"
#include "push/push_ledger.h"
#include "ssh/auth_throttle.h"
#include "ssh/session_limits.h"
#include "util/drain_gate.h"

namespace hephy {

class GitHttp {
 public:
  struct Context {
    const Config& config;
    const RepoStore& repos;
    PushLedger& pushes;     // the hook service's verdicts, for the audit record
    SessionLimits& limits;  // ssh.max_pushes_per_user, shared with SSH pushes
    AuthThrottle& throttle;
    DrainGate& drain;  // a push holds a pass; none is admitted while draining
  };
  explicit GitHttp(const Context& context) : context_(context) {}
  GitHttp(const GitHttp&) = delete;
  GitHttp& operator=(const GitHttp&) = delete;

  // Whether the request is git's: its path ends in /info/refs,
  // /git-upload-pack or /git-receive-pack.
  static bool Serves(const HttpServerRequest& head);
  // Whether its body is to be streamed (HttpServer's streamed_bodies): the
  // POSTs, whose packs may be of any size.
  static bool StreamsBody(const HttpServerRequest& head);

  // Answers one request (an HttpHandler). Thread-safe.
  void Handle(const HttpServerRequest& request, HttpExchange& exchange) const;

 private:
  class Exchange;  // git_http.cc
  Context context_;
};

}  // namespace hephy
