#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string_view>
#include <utility>

#include "hephy/error.h"

extern char** environ;

namespace hephy {
namespace {

struct Pipe {
  UniqueFd read, write;
};

Pipe MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Whether `argument` is a path starting with `prefix`, or an option
// ("--name=VALUE") whose value is one, perhaps as a "scheme://" URL.
bool NamesPathUnder(std::string_view argument, std::string_view prefix) {
  if (argument.starts_with("--") && argument.find('=') != std::string_view::npos) {
    argument.remove_prefix(argument.find('=') + 1);
    if (const auto scheme = argument.find("://"); scheme != std::string_view::npos) {
      argument.remove_prefix(scheme + 3);
    }
  }
  return argument.starts_with(prefix);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) Reset(other.Release());
  return *this;
}

int UniqueFd::Release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

Child::~Child() {
  if (pid_ > 0) {
    KillGroup(SIGKILL);
    Wait();
  }
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdin_(std::move(other.stdin_)),
      stdout_(std::move(other.stdout_)),
      stderr_(std::move(other.stderr_)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) {
      KillGroup(SIGKILL);
      Wait();
    }
    pid_ = std::exchange(other.pid_, -1);
    stdin_ = std::move(other.stdin_);
    stdout_ = std::move(other.stdout_);
    stderr_ = std::move(other.stderr_);
  }
  return *this;
}

void Child::KillGroup(int signal) {
  // The child is its session's leader, so its pid is also the group id.
  if (pid_ > 0) ::kill(-pid_, signal);
}

int Child::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return ExitCodeOf(status);
}

std::optional<int> Child::TryWait() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return std::nullopt;
  pid_ = -1;
  return ExitCodeOf(status);
}

Child Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) throw Error("spawn: empty argv");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  struct Cleanup {
    posix_spawn_file_actions_t* a;
    posix_spawnattr_t* b;
    ~Cleanup() {
      posix_spawn_file_actions_destroy(a);
      posix_spawnattr_destroy(b);
    }
  } cleanup{&actions, &attr};

  // A new session: the child leads its own process group (killable as one)
  // and has no controlling terminal. Default signal dispositions and an empty
  // mask, whatever hephyd's threads had.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  Pipe in, out, err;
  const auto wire = [&](bool piped, Pipe& p, int target, bool child_reads) {
    if (piped) {
      p = MakePipe();
      posix_spawn_file_actions_adddup2(&actions, (child_reads ? p.read : p.write).get(), target);
    } else {
      posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                       child_reads ? O_RDONLY : O_WRONLY, 0);
    }
  };
  wire(options.pipe_stdin, in, 0, true);
  wire(options.pipe_stdout, out, 1, false);
  if (options.stderr_to_stdout) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    wire(options.pipe_stderr, err, 2, false);
  }
  // libssh's and SQLite's descriptors are not close-on-exec; a child must not
  // hold other sessions' sockets open.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  }

  auto argv = CStrings(options.argv);
  std::vector<char*> envp;
  if (options.env) envp = CStrings(*options.env);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(),
                              options.env ? envp.data() : environ);
  if (rc != 0) throw Error("cannot run '" + options.argv[0] + "': " + std::strerror(rc));

  Child child;
  child.pid_ = pid;
  if (options.pipe_stdin) {
    SetNonBlocking(in.write.get());
    child.stdin_ = std::move(in.write);
  }
  if (options.pipe_stdout) {
    SetNonBlocking(out.read.get());
    child.stdout_ = std::move(out.read);
  }
  if (options.pipe_stderr && !options.stderr_to_stdout) {
    SetNonBlocking(err.read.get());
    child.stderr_ = std::move(err.read);
  }
  return child;
}

int KillGroupsWithArgumentUnder(const std::filesystem::path& dir) {
  const std::string prefix = dir.lexically_normal().string() + "/";
  std::set<pid_t> groups;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline");
    std::string argument;
    while (std::getline(cmdline, argument, '\0')) {
      if (!NamesPathUnder(argument, prefix)) continue;
      const pid_t group = getpgid(std::stoi(name));
      if (group > 1 && group != getpgrp()) groups.insert(group);
      break;
    }
  }
  for (const pid_t group : groups) ::kill(-group, SIGKILL);
  return static_cast<int>(groups.size());
}

RunResult Run(const SpawnOptions& spawn_options, const std::string& input,
              std::chrono::milliseconds timeout) {
  SpawnOptions options = spawn_options;
  options.pipe_stdin = !input.empty();
  options.pipe_stdout = true;
  options.pipe_stderr = true;
  Child child = Spawn(options);
  RunResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t written = 0;

  while (child.stdin_fd() || child.stdout_fd() || child.stderr_fd()) {
    pollfd fds[3];
    int n = 0;
    const auto add = [&](UniqueFd& fd, short events) {
      if (fd) fds[n++] = pollfd{fd.get(), events, 0};
    };
    add(child.stdin_fd(), POLLOUT);
    add(child.stdout_fd(), POLLIN);
    add(child.stderr_fd(), POLLIN);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      child.KillGroup(SIGKILL);
      break;
    }
    if (poll(fds, n, static_cast<int>(left.count())) < 0 && errno != EINTR) break;

    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == child.stdin_fd().get()) {
        const ssize_t w = write(fds[i].fd, input.data() + written, input.size() - written);
        if (w > 0) written += w;
        if (w < 0 && errno != EAGAIN) written = input.size();  // child closed its stdin
        if (written == input.size()) child.stdin_fd().Reset();
        continue;
      }
      const bool is_out = fds[i].fd == child.stdout_fd().get();
      char buffer[65536];
      const ssize_t r = read(fds[i].fd, buffer, sizeof buffer);
      if (r > 0) {
        (is_out ? result.out : result.err).append(buffer, r);
      } else if (r == 0 || errno != EAGAIN) {
        (is_out ? child.stdout_fd() : child.stderr_fd()).Reset();
      }
    }
  }
  result.exit_code = child.Wait();
  return result;
}

}  // namespace hephy
