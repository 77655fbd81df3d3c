#include "ssh/ssh_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>

#include "hephy/error.h"
#include "ssh/ssh_session_parts.h"
#include "util/logging.h"
#include "util/ssh_algorithms.h"

namespace hephy {

std::shared_ptr<spdlog::logger> session_parts::Log() {
  static const auto logger = ComponentLogger("ssh");
  return logger;
}

namespace {

using session_parts::Log;
using session_parts::Now;
using session_parts::Self;

constexpr auto kLoginGraceTime = std::chrono::seconds(60);
constexpr int kMaxAuthTries = 6;
// How long a client may take to close the channel after the exit status.
constexpr auto kCloseGraceTime = std::chrono::seconds(10);

std::string HumanBytes(uint64_t n) {
  if (n < 10 * 1024) return std::to_string(n) + "B";
  if (n < 10 * 1024 * 1024) return std::to_string(n / 1024) + "KiB";
  return std::to_string(n / (1024 * 1024)) + "MiB";
}

}  // namespace

SshSession::SshSession(ssh_session session, const SessionContext& context, std::string remote,
                       std::string local, SessionLimits::Slot handshake)
    : session_(session),
      context_(context),
      remote_(std::move(remote)),
      local_(std::move(local)),
      handshake_slot_(std::move(handshake)) {}

SshSession::~SshSession() {
  if (event_ != nullptr) {
    // ssh_event_free frees the poll handles but not the callback each
    // ssh_event_add_fd allocated: take every descriptor out first.
    if (polling_stop_) ssh_event_remove_fd(event_, context_.stop_fd);
    if (polling_stdin_) ssh_event_remove_fd(event_, child_.stdin_fd().get());
    if (polling_stdout_) ssh_event_remove_fd(event_, child_.stdout_fd().get());
    if (polling_stderr_) ssh_event_remove_fd(event_, child_.stderr_fd().get());
    ssh_event_free(event_);
  }
  ssh_disconnect(session_);
  ssh_free(session_);  // frees the channel too
}

void SshSession::Run() {
  try {
    Serve();
  } catch (const std::exception& e) {
    Log()->error("session from {}: {}", remote_, e.what());
    LogEnd(std::string("error: ") + e.what());
  }
  if (!Authenticated() && (failed_auths_ > 0 || login_timed_out_)) RecordAuthFailure();
}

void SshSession::Serve() {
  store_.emplace(context_.config.DatabasePath());
  server_callbacks_.userdata = this;
  server_callbacks_.auth_pubkey_function = [](ssh_session, const char* user, ssh_key key,
                                              char state, void* self) {
    return Self(self)->OnAuthPublicKey(user, key, state);
  };
  server_callbacks_.auth_password_function = [](ssh_session, const char* user, const char*,
                                                void* self) {
    return Self(self)->OnAuthPassword(user);
  };
  server_callbacks_.channel_open_request_session_function = [](ssh_session, void* self) {
    return Self(self)->OnChannelOpen();
  };
  ssh_callbacks_init(&server_callbacks_);
  ssh_set_server_callbacks(session_, &server_callbacks_);
  // Only public keys are offered; password and keyboard-interactive attempts
  // are refused by libssh before they reach us.
  ssh_set_auth_methods(session_, SSH_AUTH_METHOD_PUBLICKEY);
  // Nothing may block the session's thread: channel writes take what the
  // window allows and the rest waits in our pending buffers.
  ssh_set_blocking(session_, 0);
  // Callbacks are in place before the key exchange: the client's first
  // requests may arrive with its last key exchange packet.
  if (!KeyExchange()) return;

  event_ = ssh_event_new();
  if (event_ == nullptr || ssh_event_add_session(event_, session_) != SSH_OK) {
    throw Error("cannot create the session's event loop");
  }
  while (true) {
    SyncDescriptors();
    FinishIfChildDone();
    if (closed_ && peer_closed_) return;  // both ends closed the channel: done
    if (closed_ && !close_deadline_) close_deadline_ = Now() + kCloseGraceTime;

    const auto deadline = Deadline();
    int timeout = -1;
    if (deadline) {
      timeout = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Now()).count()));
    }
    const int rc = ssh_event_dopoll(event_, timeout);
    if (rc == SSH_ERROR || !ssh_is_connected(session_)) {
      if (child_running_) {
        child_.KillGroup(SIGKILL);
        child_.Wait();
        child_running_ = false;
        LogEnd("client disconnected; git killed");
      } else if (!closed_) {
        LogEnd(Authenticated() ? "client disconnected" : "disconnected before authentication");
      }
      return;
    }
    // Again: what the poll dispatched may have moved it (data, authentication).
    if (const auto due = Deadline(); due && Now() >= *due) {
      if (!Authenticated()) {
        login_timed_out_ = true;
        Log()->info("remote={} authentication timed out", remote_);
      } else if (!closed_) {
        CloseIdle();
      }
      return;
    }
    if (failed_auths_ >= kMaxAuthTries) {
      Log()->warn("remote={} too many authentication failures", remote_);
      return;
    }
    if (stop_requested_ && !closed_) {
      if (!child_running_) {
        LogEnd("daemon stopping");
        return;
      }
      child_.KillGroup(SIGTERM);  // its exit status goes to the client as usual
    }
    if (failure_ && !closed_) {
      ssh_channel_write_stderr(channel_, failure_->data(), failure_->size());
      SendExitAndClose(1);
      LogEnd("refused: " + failure_->substr(0, failure_->find('\n')));
    }
    FlushPendingOutput();
  }
}

bool SshSession::KeyExchange() {
  // OpenSSH clients send their key exchange packets with Nagle's algorithm
  // on, so each one waits for the ACK of the one before; Linux delays that
  // ACK by ~40 ms unless quick-ack mode is asked for before every read.
  const int fd = ssh_get_fd(session_);
  const auto deadline = Now() + kLoginGraceTime;
  while (true) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    const int rc = ssh_handle_key_exchange(session_);
    if (rc == SSH_OK) return true;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Now()).count();
    if (rc == SSH_ERROR || left <= 0) {
      const std::string error = rc == SSH_ERROR ? ssh_get_error(session_) : "timed out";
      // libssh2 before 1.11 (libgit2's ssh on Debian 12) is the client of
      // note the default ssh.macs turns away. It resets the connection as
      // soon as it has read hephyd's offer, which may discard its own offer
      // before libssh reads it; its banner has been read by then.
      const char* banner = ssh_get_clientbanner(session_);
      const bool macs = error.find("mac algo") != std::string::npos ||
                        (banner != nullptr && IsLibSsh2BeforeEncryptThenMac(banner) &&
                         OffersOnlyEncryptThenMac(context_.config.ssh.macs));
      Log()->info("remote={} key exchange failed: {}{}", remote_, error,
                  macs ? " (a client with only encrypt-and-MAC MACs, such as libssh2 before "
                         "1.11, connects with ssh.macs: +hmac-sha2-256,hmac-sha2-512)"
                       : "");
      return false;
    }
    pollfd readable{fd, POLLIN, 0};
    poll(&readable, 1, static_cast<int>(left));
  }
}

ssh_channel SshSession::OnChannelOpen() {
  // One session channel per connection.
  if (!Authenticated() || channel_ != nullptr) return nullptr;
  channel_ = ssh_channel_new(session_);
  if (channel_ == nullptr) return nullptr;

  auto& cb = channel_callbacks_;
  cb.userdata = this;
  cb.channel_exec_request_function = [](ssh_session, ssh_channel, const char* command, void* self) {
    return Self(self)->OnExec(command);
  };
  cb.channel_env_request_function = [](ssh_session, ssh_channel, const char* name,
                                       const char* value,
                                       void* self) { return Self(self)->OnEnv(name, value); };
  cb.channel_shell_request_function = [](ssh_session, ssh_channel, void* self) {
    return Self(self)->OnShell();
  };
  // Accepted at the protocol level (no terminal is ever allocated): OpenSSH
  // clients treat a refused pty as fatal before showing the user anything, so
  // the shell or exec request that follows explains instead.
  cb.channel_pty_request_function = [](ssh_session, ssh_channel, const char*, int, int, int, int,
                                       void* self) {
    Self(self)->pty_requested_ = true;
    return 0;
  };
  cb.channel_subsystem_request_function = [](ssh_session, ssh_channel, const char* name,
                                             void* self) { return Self(self)->OnSubsystem(name); };
  cb.channel_data_function = [](ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr,
                                void* self) { return Self(self)->OnData(data, len, is_stderr); };
  cb.channel_eof_function = [](ssh_session, ssh_channel, void* self) { Self(self)->OnEof(); };
  cb.channel_close_function = [](ssh_session, ssh_channel, void* self) { Self(self)->OnClose(); };
  ssh_callbacks_init(&cb);
  ssh_set_channel_callbacks(channel_, &cb);
  return channel_;
}

void SshSession::SendExitAndClose(int code) {
  // Blocking from here: the exit status and close must reach the client
  // before the connection is torn down.
  ssh_set_blocking(session_, 1);
  ssh_channel_request_send_exit_status(channel_, code);
  ssh_channel_send_eof(channel_);
  ssh_channel_close(channel_);
  closed_ = true;
}

void SshSession::LogEnd(const std::string& result) {
  AuditPush(result);
  push_slot_ = {};  // before the line that says the push is over
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);  // this session's own thread: what relaying cost
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  Log()->info(
      "remote={} user={} key={} app={} command=\"{}\" in={} out={} duration={:.2f}s cpu={:.2f}s "
      "{}",
      remote_,
      user_         ? user_->name
      : deploy_key_ ? "deploy:" + deploy_key_->app
                    : "-",
      fingerprint_.empty() ? "-" : fingerprint_, git_ ? git_->app : "-", command_,
      HumanBytes(bytes_in_), HumanBytes(bytes_out_), seconds, cpu, result);
}

std::optional<std::chrono::steady_clock::time_point> SshSession::Deadline() const {
  if (!Authenticated()) return started_ + kLoginGraceTime;
  if (closed_) return close_deadline_;
  const auto idle = context_.config.ssh.idle_timeout;
  if (idle.count() > 0) return last_activity_ + idle;
  return std::nullopt;
}

void SshSession::CloseIdle() {
  const auto idle = context_.config.ssh.idle_timeout;
  Log()->info("remote={} user={} idle for {}s (ssh.idle_timeout); closing the session", remote_,
              user_ ? user_->name : "deploy:" + deploy_key_->app, idle.count());
  if (channel_ != nullptr && !peer_closed_) {
    // Best effort: a client that stopped reading will not see it.
    const std::string message = "hephyd: closing the session: nothing sent or received for " +
                                std::to_string(idle.count()) + "s (ssh.idle_timeout)\n";
    ssh_channel_write_stderr(channel_, message.data(), message.size());
  }
  if (child_running_) {
    child_.KillGroup(SIGKILL);
    child_.Wait();
    child_running_ = false;
  }
  LogEnd(!child_started_ ? "idle timeout"
         : git_          ? "idle timeout; git killed"
                         : "idle timeout; command killed");
}

}  // namespace hephy
