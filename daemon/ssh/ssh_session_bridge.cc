// SshSession: the byte bridge between the channel and the child's stdin,
// stdout and stderr, with back-pressure both ways and no blocking call.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "ssh/ssh_session.h"
#include "ssh/ssh_session_parts.h"
#include "util/disk_space.h"

namespace hephy {
namespace {

using session_parts::Now;
using session_parts::Self;

// One read from git's stdout or stderr; the channel takes it in packets.
constexpr size_t kChunk = 64 * 1024;
// Pipes to and from git: big enough that git rarely waits on us.
constexpr int kPipeSize = 1024 * 1024;

}  // namespace

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
    NoticeNoSpaceLeft(std::string_view(buffer, n));
    FlushPendingOutput();
  } else if (n == 0 || errno != EAGAIN) {
    (is_stdout ? stdout_eof_ : stderr_eof_) = true;
  }
}

void SshSession::NoticeNoSpaceLeft(std::string_view output) {
  if (git_said_no_space_ || !git_ || git_->service != GitService::kReceivePack) return;
  // receive-pack relays index-pack's errors in its sideband, on stdout; the
  // words may straddle two reads.
  no_space_scan_.append(output);
  git_said_no_space_ = SaysNoSpaceLeft(no_space_scan_);
  constexpr size_t kKeep = 64;
  if (no_space_scan_.size() > kKeep) no_space_scan_.erase(0, no_space_scan_.size() - kKeep);
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
  if (git_said_no_space_ && channel_ != nullptr && !peer_closed_) {
    // git's own words name a file; the pusher needs to know it is hephyd's disk.
    const std::string line = NoSpaceLeftMessage(context_.config.data_dir) + "\n";
    ssh_set_blocking(session_, 1);
    ssh_channel_write_stderr(channel_, line.data(), line.size());
  }
  SendExitAndClose(exit_code_);
  LogEnd(stop_requested_ ? "daemon stopping; git stopped" : "exit " + std::to_string(exit_code_));
}

}  // namespace hephy
