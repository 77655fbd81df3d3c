#include "ssh/ssh_session.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <regex>

#include "git/git_access.h"
#include "hephy/error.h"
#include "hephy/ssh_key.h"
#include "push/push_audit.h"
#include "ssh/command_words.h"
#include "util/logging.h"

namespace hephy {
namespace {

constexpr auto kLoginGraceTime = std::chrono::seconds(60);
constexpr int kMaxAuthTries = 6;
// How long a client may take to close the channel after the exit status.
constexpr auto kCloseGraceTime = std::chrono::seconds(10);
// One read from git's stdout or stderr; the channel takes it in packets.
constexpr size_t kChunk = 64 * 1024;
// Pipes to and from git: big enough that git rarely waits on us.
constexpr int kPipeSize = 1024 * 1024;

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("ssh");
  return logger;
}

std::string HumanBytes(uint64_t n) {
  if (n < 10 * 1024) return std::to_string(n) + "B";
  if (n < 10 * 1024 * 1024) return std::to_string(n / 1024) + "KiB";
  return std::to_string(n / (1024 * 1024)) + "MiB";
}

std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }

// "ssh -p PORT git@HOST" for the address a client connected to ("HOST:PORT",
// "[V6]:PORT").
std::string SshCommandFor(const std::string& address) {
  const auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return "ssh -p " + address.substr(colon + 1) + " git@" + host;
}

// Trampolines from libssh's C callbacks to the session object.
SshSession* Self(void* userdata) { return static_cast<SshSession*>(userdata); }

}  // namespace

SshSession::SshSession(ssh_session session, const SessionContext& context, std::string remote,
                       std::string local, SessionLimits::Slot handshake)
    : session_(session),
      context_(context),
      remote_(std::move(remote)),
      local_(std::move(local)),
      handshake_slot_(std::move(handshake)) {}

SshSession::~SshSession() {
  if (event_ != nullptr) ssh_event_free(event_);
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
      Log()->info("remote={} key exchange failed: {}", remote_,
                  rc == SSH_ERROR ? ssh_get_error(session_) : "timed out");
      return false;
    }
    pollfd readable{fd, POLLIN, 0};
    poll(&readable, 1, static_cast<int>(left));
  }
}

int SshSession::OnAuthPublicKey(const char* user, ssh_key key, char signature_state) {
  (void)user;  // identity is the key; the SSH user name ("git") is not used
  std::string fingerprint;
  std::optional<User> owner;
  std::optional<DeployKey> deploy_key;
  try {
    fingerprint = KeyFingerprint(key);
    owner = store_->FindUserByKey(fingerprint);
    if (!owner) deploy_key = store_->FindDeployKey(fingerprint);
  } catch (const std::exception& e) {  // nothing may unwind through libssh
    Log()->error("remote={} key lookup failed: {}", remote_, e.what());
    return SSH_AUTH_DENIED;
  }
  const bool known = owner || deploy_key;
  if (!known || signature_state == SSH_PUBLICKEY_STATE_WRONG) {
    ++failed_auths_;
    Log()->info("remote={} key={} denied: {}", remote_, fingerprint,
                known ? "bad signature" : "unknown key");
    return SSH_AUTH_DENIED;
  }
  // STATE_NONE is the client asking whether the key would do: yes, prove it.
  if (signature_state == SSH_PUBLICKEY_STATE_VALID) {
    user_ = owner;
    deploy_key_ = deploy_key;
    fingerprint_ = fingerprint;
    last_activity_ = Now();
    // Over ssh.max_sessions, the session keeps its handshake place just long
    // enough to tell the client (OnExec).
    session_slot_ = context_.limits.StartSession();
    if (session_slot_) handshake_slot_ = {};
  }
  return SSH_AUTH_SUCCESS;
}

int SshSession::OnAuthPassword(const char* user) {
  ++failed_auths_;
  Log()->info("remote={} password authentication for '{}' refused", remote_, user);
  return SSH_AUTH_DENIED;
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

int SshSession::OnEnv(const char* name, const char* value) {
  // git sends its protocol version this way ("version=2"); nothing else passes.
  static const std::regex kProtocol("^[a-z0-9=:.-]{1,64}$");
  if (std::string_view(name) == "GIT_PROTOCOL" && std::regex_match(value, kProtocol)) {
    git_protocol_ = value;
    return 0;
  }
  return -1;
}

int SshSession::OnShell() {
  command_ = "(shell)";
  failure_ = "Hi " + (user_ ? user_->name : "deploy key of " + deploy_key_->app) +
             "! You've authenticated, but hephyd does not provide shell access.\n"
             "Commands: " +
             SshCommandFor(local_) +
             " help\n"
             "Push with: git push ssh://git@" +
             local_ + "/APP.git " + context_.config.builder.branches.front() + "\n";
  return 0;
}

int SshSession::OnSubsystem(const char* name) {
  command_ = std::string("(subsystem ") + name + ")";
  failure_ = std::string("hephyd: the ") + name + " subsystem is not supported; use git\n";
  return 0;
}

int SshSession::OnExec(const char* command) {
  if (exec_requested_ || failure_) return -1;  // one exec per channel
  exec_requested_ = true;
  command_ = command;
  try {
    if (!session_slot_) {
      throw Error("ssh.max_sessions (" + std::to_string(context_.config.ssh.max_sessions) +
                  ") sessions are open; try again later");
    }
    if (pty_requested_) throw Error("terminals are not supported; run commands without -t");
    const std::string_view text(command);
    if (text.starts_with("git-") || text.starts_with("git ")) {
      StartGit(command);
    } else {
      StartCommand(command);
    }
  } catch (const Error& e) {
    failure_ = std::string("hephyd: ") + e.what() + "\n";
  } catch (const std::exception& e) {
    // Nothing may unwind through libssh's C frames.
    Log()->error("remote={} exec \"{}\": {}", remote_, command_, e.what());
    failure_ = "hephyd: internal error; the daemon's log has the details\n";
  }
  // Accepted either way: a refusal is told on stderr with exit status 1,
  // which git shows the user, rather than a bare "exec request failed".
  return 0;
}

void SshSession::StartGit(const std::string& command) {
  GitAccessRequest request{
      ParseGitCommand(command), user_, deploy_key_, fingerprint_, git_protocol_,
      push_id_ = NewPushId()};
  git_ = request.command;
  if (git_->service == GitService::kReceivePack) {
    // A deploy key counts on its own, as builds name it.
    push_slot_ = context_.limits.StartPush(user_ ? user_->name : "deploy:" + fingerprint_);
    if (!push_slot_) {
      const int most = context_.config.ssh.max_pushes_per_user;
      throw Error((user_ ? user_->name : "deploy key " + fingerprint_) + " already has " +
                  std::to_string(most) + (most == 1 ? " push" : " pushes") +
                  " running (ssh.max_pushes_per_user)");
    }
  }
  SpawnOptions spawn = AdmitGitCommand(request, context_.config, *store_, context_.repos);
  if (git_->service == GitService::kReceivePack) context_.pushes.Open(push_id_);
  StartChild(spawn);
}

void SshSession::StartCommand(const std::string& command) {
  std::vector<std::string> words = SplitCommandWords(command);
  if (words.front().starts_with("-") || words.front() == "serve") {
    throw Error("unknown command '" + words.front() + "'; try 'help'");
  }
  // hephyd's own command line, as the caller: one parser for both, and the
  // channel's bytes bridged as for git (keys on stdin, logs followed live).
  SpawnOptions spawn;
  spawn.argv = {std::filesystem::read_symlink("/proc/self/exe").string()};
  if (!context_.config.file.empty()) {
    spawn.argv.insert(spawn.argv.end(), {"--config", context_.config.file.string()});
  }
  spawn.argv.insert(spawn.argv.end(), words.begin(), words.end());
  std::vector<std::string> env;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (!std::string_view(*variable).starts_with("HEPHY_SSH_")) env.emplace_back(*variable);
  }
  env.push_back(user_ ? "HEPHY_SSH_USER=" + user_->name : "HEPHY_SSH_DEPLOY_KEY=" + fingerprint_);
  env.push_back("HEPHY_SSH_KEY=" + fingerprint_);
  env.push_back("HEPHY_SSH_REMOTE=" + remote_);
  spawn.env = std::move(env);
  spawn.pipe_stdin = spawn.pipe_stdout = spawn.pipe_stderr = true;
  StartChild(spawn);
}

void SshSession::StartChild(const SpawnOptions& spawn) {
  child_ = Spawn(spawn);
  child_started_ = child_running_ = true;
  fcntl(child_.stdin_fd().get(), F_SETPIPE_SZ, kPipeSize);
  fcntl(child_.stdout_fd().get(), F_SETPIPE_SZ, kPipeSize);
}

int SshSession::OnData(void* data, uint32_t len, int is_stderr) {
  last_activity_ = Now();
  if (is_stderr) return static_cast<int>(len);  // clients have no business there
  if (!child_.stdin_fd() || stdin_failed_) return static_cast<int>(len);  // git stopped reading
  // Older bytes go first; until they are written, libssh keeps these, and
  // what it keeps counts against the window the client may fill.
  if (StdinPending()) return 0;
  const char* bytes = static_cast<const char*>(data);
  push_commands_.Feed({bytes, len});
  ssize_t n = write(child_.stdin_fd().get(), bytes, len);
  if (n < 0 && errno != EAGAIN) {
    stdin_failed_ = true;  // EPIPE: git is gone; its exit status will tell
    return static_cast<int>(len);
  }
  n = std::max<ssize_t>(n, 0);
  bytes_in_ += n;
  // Take the rest too, so that libssh's buffer is left empty: a partly
  // consumed buffer costs it a memmove (and a realloc) per packet.
  if (static_cast<uint32_t>(n) < len) {
    stdin_pending_.assign(bytes + n, len - n);
    stdin_offset_ = 0;
  }
  return static_cast<int>(len);
}

bool SshSession::StdinPending() const { return stdin_offset_ < stdin_pending_.size(); }

void SshSession::OnStdinWritable() {
  while (!stdin_failed_) {
    if (!StdinPending()) {
      // Everything libssh held back while git was busy, in one read, which
      // empties its buffer (and lets the window grow again).
      const int available = ssh_channel_poll(channel_, 0);
      // With its buffer empty, libssh reads the socket here, and a packet
      // that arrives goes through OnData, which may leave bytes pending.
      if (StdinPending()) continue;
      if (available <= 0) return;
      stdin_pending_.resize(available);
      stdin_offset_ = 0;
      const int n = ssh_channel_read_nonblocking(channel_, stdin_pending_.data(), available, 0);
      stdin_pending_.resize(std::max(n, 0));
      if (n <= 0) return;
      push_commands_.Feed(stdin_pending_);
    }
    const ssize_t n = write(child_.stdin_fd().get(), stdin_pending_.data() + stdin_offset_,
                            stdin_pending_.size() - stdin_offset_);
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {
      stdin_failed_ = true;
      return;
    }
    bytes_in_ += n;
    stdin_offset_ += n;
  }
}

void SshSession::OnEof() { remote_eof_ = true; }

void SshSession::OnClose() {
  peer_closed_ = true;
  // The client closed the channel: nobody will read git's answer.
  if (child_running_) child_.KillGroup(SIGKILL);
}

void SshSession::OnChildOutput(int fd) {
  const bool is_stdout = fd == child_.stdout_fd().get();
  std::string& pending = is_stdout ? stdout_pending_ : stderr_pending_;
  char buffer[kChunk];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  if (n > 0) {
    pending.assign(buffer, n);
    FlushPendingOutput();
  } else if (n == 0 || errno != EAGAIN) {
    (is_stdout ? stdout_eof_ : stderr_eof_) = true;
  }
}

void SshSession::FlushPendingOutput() {
  if (channel_ == nullptr || closed_ || peer_closed_) return;
  for (auto* pending : {&stdout_pending_, &stderr_pending_}) {
    if (pending->empty()) continue;
    const uint32_t window = ssh_channel_window_size(channel_);
    if (window == 0) return;
    const uint32_t len = std::min<size_t>(pending->size(), window);
    const int n = pending == &stdout_pending_
                      ? ssh_channel_write(channel_, pending->data(), len)
                      : ssh_channel_write_stderr(channel_, pending->data(), len);
    if (n == SSH_ERROR) return;  // the loop sees the session fail
    if (n > 0) last_activity_ = Now();
    bytes_out_ += n;
    pending->erase(0, n);
  }
}

void SshSession::SyncDescriptors() {
  static constexpr ssh_event_callback stdin_cb = [](socket_t, int, void* self) {
    Self(self)->OnStdinWritable();
    return 0;
  };
  static constexpr ssh_event_callback output_cb = [](socket_t fd, int, void* self) {
    Self(self)->OnChildOutput(fd);
    return 0;
  };
  static constexpr ssh_event_callback stop_cb = [](socket_t, int, void* self) {
    Self(self)->stop_requested_ = true;
    return 0;
  };
  // Callbacks only flag a pipe as finished; it is unregistered here first and
  // closed after, so libssh never polls a closed (or reused) descriptor.
  const auto sync = [&](bool want, bool& polling, int fd, short events, ssh_event_callback cb) {
    if (want == polling) return;
    if (want) {
      ssh_event_add_fd(event_, fd, events, cb, this);
    } else {
      ssh_event_remove_fd(event_, fd);
    }
    polling = want;
  };
  sync(!stop_requested_, polling_stop_, context_.stop_fd, POLLIN, stop_cb);

  // The client finished sending and git has every byte: end git's input.
  if (child_.stdin_fd() && remote_eof_ && !StdinPending() &&
      ssh_channel_poll(channel_, 0) == SSH_EOF) {
    stdin_failed_ = true;
  }
  const auto close_when_done = [&](UniqueFd& fd, bool done, bool& polling) {
    if (!fd || !done) return;
    if (polling) ssh_event_remove_fd(event_, fd.get());
    polling = false;
    fd.Reset();
  };
  close_when_done(child_.stdin_fd(), stdin_failed_, polling_stdin_);
  close_when_done(child_.stdout_fd(), stdout_eof_, polling_stdout_);
  close_when_done(child_.stderr_fd(), stderr_eof_, polling_stderr_);

  if (child_.stdin_fd()) {
    sync(StdinPending(), polling_stdin_, child_.stdin_fd().get(), POLLOUT, stdin_cb);
  }
  if (child_.stdout_fd()) {
    sync(stdout_pending_.empty(), polling_stdout_, child_.stdout_fd().get(), POLLIN, output_cb);
  }
  if (child_.stderr_fd()) {
    sync(stderr_pending_.empty(), polling_stderr_, child_.stderr_fd().get(), POLLIN, output_cb);
  }
}

void SshSession::FinishIfChildDone() {
  if (!child_running_ || child_.stdout_fd() || child_.stderr_fd() || !stdout_pending_.empty() ||
      !stderr_pending_.empty()) {
    return;
  }
  // git closed both outputs: it is exiting, so this wait is short.
  exit_code_ = child_.Wait();
  child_running_ = false;
  child_.stdin_fd().Reset();
  SendExitAndClose(exit_code_);
  LogEnd(stop_requested_ ? "daemon stopping; git stopped" : "exit " + std::to_string(exit_code_));
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

void SshSession::AuditPush(const std::string& result) {
  if (!git_ || git_->service != GitService::kReceivePack || push_audited_) return;
  push_audited_ = true;
  const auto verdict = context_.pushes.Close(push_id_);
  // As builds record the pusher (PusherName).
  PushAttempt push{user_ ? user_->name : "deploy:" + fingerprint_, fingerprint_, git_->app, remote_,
                   std::nullopt};
  std::string outcome;
  try {
    if (!child_started_) {
      std::string reason = failure_.value_or(result);
      if (reason.starts_with("hephyd: ")) reason.erase(0, 8);
      outcome = "denied: " + reason;
    } else {
      push.updates = push_commands_.Updates();
      // A client with nothing to push asks for no update, or hangs up at once.
      if (push.updates ? push.updates->empty() : bytes_in_ == 0 && !verdict) return;
      std::vector<std::string> not_updated;
      if (verdict && verdict->accepted && push.updates) {
        not_updated = RefsNotUpdated(context_.repos.PathFor(git_->app), *push.updates);
      }
      // Without a verdict the hook never answered: git stopped before it ran
      // it, or the push ended while hephyd was deciding.
      outcome =
          PushResult(verdict, not_updated,
                     result.starts_with("exit ")
                         ? "git ended the push before its pre-receive hook ran (" + result + ")"
                         : result);
    }
    store_->Audit(PushAuditEntry(push, outcome));
  } catch (const std::exception& e) {
    Log()->error("remote={} push {} app={}: cannot write its audit record: {}", remote_, push_id_,
                 git_->app, e.what());
  }
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

void SshSession::RecordAuthFailure() {
  const std::string host = HostOfAddress(remote_);
  if (!context_.throttle.Failed(host, std::chrono::steady_clock::now())) return;
  const auto& limits = context_.config.ssh.auth_failures;
  Log()->warn(
      "remote address {} blocked for {}s: {} connections failed to authenticate within {}s "
      "(ssh.auth_failures)",
      host, limits.block.count(), limits.limit, limits.window.count());
}

}  // namespace hephy
