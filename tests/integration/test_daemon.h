// A real hephyd for integration tests: its own data directory and config,
// SSH on a kernel-chosen loopback port, driven with the real ssh and git.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_dir.h"
#include "util/process.h"

namespace hephy {

struct TestKey {
  std::filesystem::path private_key;
  std::filesystem::path public_key;
};

class TestDaemon {
 public:
  // `extra_config` is appended to the generated YAML (data_dir, ssh.listen,
  // registry, and push.color: never unless it has a push mapping). With an empty `registry_url`
  // hephyd runs its embedded registry on a free loopback port; otherwise it pushes to that
  // registry. `registry_config` holds more lines of the registry mapping, each indented by two
  // spaces ("  insecure: false\n"); without a docker_config line, registry.docker_config is
  // DIR/docker-config.json (none at first). The HTTP API listens on a kernel-chosen loopback port
  // unless `http_config`, more lines of the http mapping indented by two spaces, has a listen line.
  explicit TestDaemon(const std::string& extra_config = "", const std::string& registry_url = "",
                      const std::string& registry_config = "", const std::string& http_config = "");
  ~TestDaemon();
  TestDaemon(const TestDaemon&) = delete;
  TestDaemon& operator=(const TestDaemon&) = delete;

  // `hephyd --config CONFIG ARGS...`, to completion.
  RunResult Cli(const std::vector<std::string>& args, const std::string& input = "") const;

  // Starts `hephyd serve` and returns once it listens. Stop() sends SIGTERM,
  // and a second one when hephyd drains pushes in progress, and returns its
  // exit code.
  void Start();
  int Stop();
  // SIGKILL, as a crash would.
  void Kill();
  // Sends `signal` to hephyd alone (as systemd's KillMode=mixed and a
  // container runtime do), without waiting; Wait() returns its exit code.
  void Signal(int signal);
  int Wait();

  // A new ed25519 key pair (ssh-keygen) in the test directory.
  TestKey NewKey(const std::string& name) const;
  // `users add` and `keys add` of a new key for it.
  TestKey AddUser(const std::string& name, bool admin = false) const;

  // ssh://git@127.0.0.1:PORT/<path>
  std::string Url(const std::string& path) const;
  // The real ssh client: `ssh ... git@127.0.0.1 COMMAND`; extra ssh options
  // first; `input` on its stdin.
  RunResult Ssh(const TestKey& key, const std::string& command,
                const std::vector<std::string>& ssh_options = {},
                const std::string& input = "") const;
  // Options for an ssh client with this key and no host key checks.
  std::vector<std::string> SshArgs(const TestKey& key) const;
  // git with GIT_SSH_COMMAND set up for `key`, run in `cwd`.
  RunResult Git(const TestKey& key, const std::vector<std::string>& args,
                const std::filesystem::path& cwd) const;

  // The same, left running: stderr (where git shows remote: lines) piped.
  Child GitInBackground(const TestKey& key, const std::vector<std::string>& args,
                        const std::filesystem::path& cwd) const;

  // Waits until hephyd's log contains `needle`; false on timeout.
  bool WaitForLog(const std::string& needle,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until hephyd's log contains `needle` at least `count` times.
  bool WaitForLogCount(const std::string& needle, size_t count,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string Log();

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  std::filesystem::path config_path() const { return dir_.path() / "hephy.yaml"; }
  std::filesystem::path RepoPath(const std::string& app) const;
  uint16_t port() const { return port_; }
  // hephyd's process, once started.
  pid_t pid() const { return serve_.pid(); }
  // The HTTP API's port, once started.
  uint16_t http_port() const { return http_port_; }
  const std::string& registry_url() const { return registry_url_; }
  // The environment git and ssh run with: an empty HOME in the test directory.
  std::vector<std::string> ClientEnv() const;

 private:
  // git with GIT_SSH_COMMAND set up for `key`, in `cwd`.
  SpawnOptions GitOptions(const TestKey& key, const std::vector<std::string>& args,
                          const std::filesystem::path& cwd) const;

  TestDir dir_;
  Child serve_;
  std::thread log_reader_;
  std::mutex log_mutex_;
  std::condition_variable log_changed_;
  std::string log_;
  uint16_t port_ = 0;
  uint16_t http_port_ = 0;
  std::string registry_url_;
};

// A real ssh client running `git-receive-pack 'APP.git'` (with `ssh_options`
// first), returned once receive-pack has advertised its refs: git is running
// on the far side and waits for the client's commands on stdin. Throws when
// no advertisement comes.
Child OpenReceivePack(const TestDaemon& daemon, const TestKey& key, const std::string& app,
                      const std::vector<std::string>& ssh_options = {});

// An empty git repository at `dir` whose branch is main.
void MakeRepo(const std::filesystem::path& dir);
// A repository at `dir` whose first commit on main holds a root Dockerfile,
// which makes it an app hephyd accepts on a build branch.
void MakeAppRepo(const std::filesystem::path& dir);
void CommitFile(const std::filesystem::path& repo, const std::string& path,
                const std::string& content, const std::string& message);
// `git -C repo ARGS` with a fixed identity; throws on failure.
std::string GitOk(const std::filesystem::path& repo, const std::vector<std::string>& args);

}  // namespace hephy
