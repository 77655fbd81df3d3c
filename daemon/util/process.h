// The one way hephy starts other programs (git, ssh-keygen, later buildah and
// credential helpers): an argv vector, never a shell; a new process group so
// that the whole tree can be killed; every descriptor but the pipes closed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hephy {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int Release();
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  // The child's whole environment as "KEY=value"; nullopt inherits hephyd's.
  std::optional<std::vector<std::string>> env;
  std::filesystem::path cwd;  // empty: hephyd's
  // Which of the child's stdin/stdout/stderr get a pipe; the others are /dev/null.
  bool pipe_stdin = false;
  bool pipe_stdout = false;
  bool pipe_stderr = false;
  // The child's stderr shares its stdout (pipe or not), as `2>&1`: one
  // stream, in the order the child wrote it. pipe_stderr is then ignored.
  bool stderr_to_stdout = false;
};

// A running child, leader of its own process group. The destructor kills the
// group and reaps the child if it was not waited for, so no child outlives
// its owner.
class Child {
 public:
  Child() = default;
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  UniqueFd& stdin_fd() { return stdin_; }
  UniqueFd& stdout_fd() { return stdout_; }
  UniqueFd& stderr_fd() { return stderr_; }

  // Sends `signal` to the child's whole process group.
  void KillGroup(int signal);
  // Blocks until the child exits; returns its exit code (128+N for signal N).
  int Wait();
  // Returns the exit code if the child has exited, without blocking.
  std::optional<int> TryWait();

 private:
  friend Child Spawn(const SpawnOptions& options);
  pid_t pid_ = -1;
  UniqueFd stdin_, stdout_, stderr_;
};

// Starts the program. Pipe ends on hephyd's side are close-on-exec and
// non-blocking. Throws Error naming argv[0] when it cannot be started.
Child Spawn(const SpawnOptions& options);

// Recovery after a crash: children run in process groups of their own, so
// they outlive a hephyd that was killed. Kills (SIGKILL) the group of every
// process one of whose arguments is a path under `dir`, or an option whose
// value is one ("--digest-file=DIR/x", "--context=dir://DIR/x"), except
// hephyd's own group. Returns how many groups it killed.
int KillGroupsWithArgumentUnder(const std::filesystem::path& dir);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs a program to completion, feeding it `input` and collecting its output.
// After `timeout` its process group is killed and timed_out is set.
RunResult Run(const SpawnOptions& options, const std::string& input = "",
              std::chrono::milliseconds timeout = std::chrono::minutes(5));

}  // namespace hephy
