// The SSH front: accepts connections on ssh.listen and runs each session on
// its own thread (libssh, public-key authentication against the store).
#pragma once

#include "git/repo_store.h"
#include "hephy/config.h"
#include "push/push_ledger.h"
#include "ssh/auth_throttle.h"
#include "ssh/session_limits.h"
#include "util/drain_gate.h"
#include "util/process.h"
#include "util/thread_group.h"

struct ssh_bind_struct;

namespace hephy {

// What every session shares; read-only once the server runs, but for the
// thread-safe objects it points at.
struct SessionContext {
  const Config& config;
  const RepoStore& repos;
  int stop_fd;         // becomes readable when the daemon shuts down
  PushLedger& pushes;  // the hook service's verdicts, for the audit log
  SessionLimits& limits;
  AuthThrottle& throttle;
  DrainGate& drain;  // a push holds a pass; none is admitted while draining
};

// The host of an address as SshServer gives it: "127.0.0.1" of
// "127.0.0.1:2222", "::1" of "[::1]:2222".
std::string HostOfAddress(const std::string& address);

class SshServer {
 public:
  // `pushes` is where the hook service leaves its verdicts; `drain` admits
  // pushes (refused once hephyd drains); `limits` and `throttle` are shared
  // with git over HTTP (daemon/githttp), so that one budget applies to both.
  SshServer(const Config& config, const RepoStore& repos, PushLedger& pushes, DrainGate& drain,
            SessionLimits& limits, AuthThrottle& throttle);
  ~SshServer();
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  // Loads (or generates) the host keys and binds ssh.listen. Returns the bound
  // address, with the port the kernel chose when ssh.listen asks for port 0.
  // Throws Error.
  ListenAddress Listen();

  // Accepts connections until Stop(); then waits for every session to end
  // (sessions kill their git processes on stop).
  void Run();

  // Safe from any thread.
  void Stop();

 private:
  const Config& config_;
  const RepoStore& repos_;
  PushLedger& pushes_;
  DrainGate& drain_;
  SessionLimits& limits_;
  AuthThrottle& throttle_;
  ssh_bind_struct* bind_ = nullptr;
  UniqueFd stop_fd_;
  ThreadGroup sessions_;
};

}  // namespace hephy
