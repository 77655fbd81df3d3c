// One SSH connection, from key exchange to disconnect: public-key
// authentication (a user's key or a deploy key), one session channel, one
// exec of git-receive-pack, git-upload-pack or one of hephyd's commands, and
// the byte bridge between the channel and the child's stdio.
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "git/git_command.h"
#include "hephy/store.h"
#include "push/push_commands.h"
#include "ssh/ssh_server.h"
#include "util/process.h"

namespace hephy {

class SshSession {
 public:
  // Takes ownership of an accepted libssh session; `remote` and `local` are
  // the connection's addresses ("127.0.0.1:2222"), for logs and messages;
  // `handshake` is its place among the connections not authenticated yet.
  SshSession(ssh_session session, const SessionContext& context, std::string remote,
             std::string local, SessionLimits::Slot handshake);
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Serves the connection until it ends. Never throws.
  void Run();

 private:
  // libssh callbacks: they only record what happened and move bytes; the
  // set of polled descriptors changes only in Run's loop (libssh's poll loop
  // must not see descriptors added or removed while it dispatches).
  int OnAuthPublicKey(const char* user, ssh_key key, char signature_state);
  int OnAuthPassword(const char* user);
  ssh_channel OnChannelOpen();
  int OnExec(const char* command);
  int OnEnv(const char* name, const char* value);
  int OnShell();
  int OnSubsystem(const char* name);
  int OnData(void* data, uint32_t len, int is_stderr);
  void OnEof();
  void OnClose();
  void OnStdinWritable();
  bool StdinPending() const;
  void OnChildOutput(int fd);

  void Serve();
  bool KeyExchange();
  void StartGit(const std::string& command);
  void StartCommand(const std::string& command);
  void StartChild(const SpawnOptions& spawn);
  bool Authenticated() const { return user_ || deploy_key_; }
  void SyncDescriptors();
  void FlushPendingOutput();
  // Watches receive-pack's output for a full disk (git_said_no_space_).
  void NoticeNoSpaceLeft(std::string_view output);
  void FinishIfChildDone();
  void SendExitAndClose(int code);
  void LogEnd(const std::string& result);
  void AuditPush(const std::string& result);
  std::optional<std::chrono::steady_clock::time_point> Deadline() const;
  void CloseIdle();
  void RecordAuthFailure();

  ssh_session session_;
  const SessionContext& context_;
  std::string remote_;
  std::string local_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  ssh_event event_ = nullptr;
  ssh_channel channel_ = nullptr;
  ssh_server_callbacks_struct server_callbacks_{};
  ssh_channel_callbacks_struct channel_callbacks_{};
  std::optional<Store> store_;

  // Who authenticated: a user, or a deploy key.
  std::optional<User> user_;
  std::optional<DeployKey> deploy_key_;
  std::string fingerprint_;
  int failed_auths_ = 0;
  bool login_timed_out_ = false;
  // Places held against ssh.max_startups until authenticated, then against
  // ssh.max_sessions (none: the client is told to try later), and against
  // ssh.max_pushes_per_user while a push runs.
  SessionLimits::Slot handshake_slot_;
  SessionLimits::Slot session_slot_;
  SessionLimits::Slot push_slot_;
  DrainGate::Pass drain_pass_;  // a push's, which a drain waits for
  // Channel data either way, for ssh.idle_timeout.
  std::chrono::steady_clock::time_point last_activity_ = started_;

  std::string command_;  // as the client sent it, for the log
  bool exec_requested_ = false;
  std::optional<GitCommand> git_;
  std::string git_protocol_;
  bool pty_requested_ = false;
  std::optional<std::string> failure_;  // to show the client, then exit 1
  Child child_;
  bool child_started_ = false;
  bool child_running_ = false;
  bool stop_requested_ = false;
  std::optional<std::chrono::steady_clock::time_point> close_deadline_;
  bool closed_ = false;       // we sent the exit status and closed the channel
  bool peer_closed_ = false;  // the client closed the channel
  int exit_code_ = -1;

  // Client -> git stdin: bytes git could not take yet. While there are any,
  // libssh holds newer bytes, which count against the client's window: that
  // is the back-pressure. Bounded by about two windows.
  std::string stdin_pending_;
  size_t stdin_offset_ = 0;
  bool stdin_failed_ = false;  // git's stdin is to be closed (EOF sent on, or EPIPE)
  bool remote_eof_ = false;
  // git stdout/stderr -> client, at most one read each while the client's
  // window is full.
  std::string stdout_pending_;
  std::string stderr_pending_;
  // Whether receive-pack said its disk was full, and the end of its output
  // looked at for that.
  bool git_said_no_space_ = false;
  std::string no_space_scan_;
  bool stdout_eof_ = false;
  bool stderr_eof_ = false;

  // Descriptors currently in event_.
  bool polling_stdin_ = false;
  bool polling_stdout_ = false;
  bool polling_stderr_ = false;
  bool polling_stop_ = false;

  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;

  // A push (git-receive-pack), for its audit record: its id, the ref updates
  // the client asks for, read as its bytes pass, and whether it is recorded.
  std::string push_id_;
  PushCommandReader push_commands_;
  bool push_audited_ = false;
};

}  // namespace hephy
