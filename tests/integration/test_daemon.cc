#include "test_daemon.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <stdexcept>

#include "test_registry.h"

namespace hephy {
namespace {

std::vector<std::string> BaseEnv(const std::filesystem::path& home) {
  std::vector<std::string> env = {"HOME=" + home.string(),
                                  "LANG=C",
                                  "GIT_CONFIG_NOSYSTEM=1",
                                  "GIT_AUTHOR_NAME=Test",
                                  "GIT_AUTHOR_EMAIL=test@example.invalid",
                                  "GIT_COMMITTER_NAME=Test",
                                  "GIT_COMMITTER_EMAIL=test@example.invalid"};
  if (const char* path = std::getenv("PATH")) env.push_back(std::string("PATH=") + path);
  return env;
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

TestDaemon::TestDaemon(const std::string& extra_config, const std::string& registry_url,
                       const std::string& registry_config, const std::string& http_config)
    : registry_url_(registry_url) {
  std::filesystem::create_directories(dir() / "home");
  std::ofstream config(config_path());
  config << "data_dir: " << data_dir().string() << "\n"
         << "ssh:\n  listen: \"127.0.0.1:0\"\n"
         << extra_config;
  // Last, so that tests' line numbers and open mappings are theirs.
  const bool embedded = registry_url_.empty();
  if (embedded) registry_url_ = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
  if (!extra_config.empty() && !extra_config.ends_with('\n')) config << "\n";
  config << "http:\n";
  if (http_config.find("  listen:") == std::string::npos) config << "  listen: \"127.0.0.1:0\"\n";
  config << http_config;
  config << "registry:\n  url: \"" << registry_url_ << "\"\n"
         << "  embedded: " << (embedded ? "true" : "false") << "\n"
         << registry_config;
  // Never the credentials of whoever runs the tests.
  if (registry_config.find("  docker_config:") == std::string::npos) {
    config << "  docker_config: \"" << (dir() / "docker-config.json").string() << "\"\n";
  }
  // Tests match the pusher's output as plain text; those of colours say push.
  if (!extra_config.starts_with("push:") && extra_config.find("\npush:") == std::string::npos) {
    config << "push:\n  color: never\n";
  }
}

TestDaemon::~TestDaemon() {
  if (serve_.pid() > 0) Stop();
}

RunResult TestDaemon::Cli(const std::vector<std::string>& args, const std::string& input) const {
  SpawnOptions options;
  options.argv = {HEPHYD_PATH, "--config", config_path().string()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  return Run(options, input, std::chrono::seconds(60));
}

void TestDaemon::Start() {
  {
    std::lock_guard lock(log_mutex_);
    log_.clear();  // each start is awaited (and inspected) on its own log
  }
  SpawnOptions options;
  options.argv = {HEPHYD_PATH, "--config", config_path().string(), "serve"};
  options.pipe_stderr = true;
  options.pipe_stdout = true;
  serve_ = Spawn(options);
  // spdlog writes to stdout; both are collected so the log can be awaited.
  const int out = serve_.stdout_fd().get();
  const int err = serve_.stderr_fd().get();
  log_reader_ = std::thread([this, out, err] {
    pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
    int open = 2;
    while (open > 0 && poll(fds, 2, -1) >= 0) {
      for (auto& fd : fds) {
        if (fd.fd < 0 || fd.revents == 0) continue;
        char buffer[4096];
        const ssize_t n = read(fd.fd, buffer, sizeof buffer);
        if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
          fd.fd = -1;
          --open;
          continue;
        }
        if (n > 0) {
          std::lock_guard lock(log_mutex_);
          log_.append(buffer, n);
          log_changed_.notify_all();
        }
      }
    }
  });
  if (!WaitForLog(" serving SSH on ")) {
    throw std::runtime_error("hephyd did not start:\n" + Log());
  }
  std::smatch match;
  const std::string log = Log();
  if (!std::regex_search(log, match, std::regex("serving SSH on 127\\.0\\.0\\.1:([0-9]+)"))) {
    throw std::runtime_error("no port in hephyd's log:\n" + log);
  }
  port_ = static_cast<uint16_t>(std::stoi(match[1]));
  // Logged before the SSH line.
  if (!std::regex_search(log, match, std::regex("serving HTTPS? on [0-9.]+:([0-9]+)"))) {
    throw std::runtime_error("no HTTP port in hephyd's log:\n" + log);
  }
  http_port_ = static_cast<uint16_t>(std::stoi(match[1]));
}

int TestDaemon::Stop() {
  size_t from = 0;
  {
    std::lock_guard lock(log_mutex_);
    from = log_.size();
  }
  serve_.KillGroup(SIGTERM);
  // With a push in progress hephyd drains; a test that stops it wants it
  // stopped, as a second signal does.
  bool draining = false;
  {
    std::unique_lock lock(log_mutex_);
    log_changed_.wait_for(lock, std::chrono::seconds(30), [&] {
      return log_.find("received SIGTERM, ", from) != std::string::npos;
    });
    draining = log_.find("received SIGTERM, draining", from) != std::string::npos;
  }
  if (draining) serve_.KillGroup(SIGTERM);
  return Wait();
}

void TestDaemon::Signal(int signal) { kill(serve_.pid(), signal); }

int TestDaemon::Wait() {
  const int code = serve_.Wait();
  if (log_reader_.joinable()) log_reader_.join();
  return code;
}

void TestDaemon::Kill() {
  serve_.KillGroup(SIGKILL);
  serve_.Wait();
  if (log_reader_.joinable()) log_reader_.join();
}

TestKey TestDaemon::NewKey(const std::string& name) const {
  TestKey key{dir() / ("key-" + name), dir() / ("key-" + name + ".pub")};
  const RunResult r = Run({.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                    name + "@test", "-f", key.private_key.string()}});
  if (r.exit_code != 0) throw std::runtime_error("ssh-keygen failed: " + r.err);
  return key;
}

TestKey TestDaemon::AddUser(const std::string& name, bool admin) const {
  std::vector<std::string> add = {"users", "add", name};
  if (admin) add.push_back("--admin");
  RunResult r = Cli(add);
  if (r.exit_code != 0) throw std::runtime_error("users add failed: " + r.err);
  TestKey key = NewKey(name);
  r = Cli({"keys", "add", name, key.public_key.string()});
  if (r.exit_code != 0) throw std::runtime_error("keys add failed: " + r.err);
  return key;
}

std::string TestDaemon::Url(const std::string& path) const {
  return "ssh://git@127.0.0.1:" + std::to_string(port_) + "/" + path;
}

std::vector<std::string> TestDaemon::SshArgs(const TestKey& key) const {
  return {"ssh",
          "-F",
          "/dev/null",
          "-i",
          key.private_key.string(),
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "BatchMode=yes",
          "-o",
          "LogLevel=ERROR",
          "-p",
          std::to_string(port_)};
}

RunResult TestDaemon::Ssh(const TestKey& key, const std::string& command,
                          const std::vector<std::string>& ssh_options,
                          const std::string& input) const {
  SpawnOptions options;
  options.argv = SshArgs(key);
  options.argv.insert(options.argv.end(), ssh_options.begin(), ssh_options.end());
  options.argv.push_back("git@127.0.0.1");
  if (!command.empty()) options.argv.push_back(command);
  options.env = ClientEnv();
  return Run(options, input, std::chrono::seconds(60));
}

SpawnOptions TestDaemon::GitOptions(const TestKey& key, const std::vector<std::string>& args,
                                    const std::filesystem::path& cwd) const {
  SpawnOptions options;
  options.argv = {"git"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = ClientEnv();
  // git runs GIT_SSH_COMMAND through a shell; the test's own paths have no spaces.
  options.env->push_back("GIT_SSH_COMMAND=" + Join(SshArgs(key)));
  options.cwd = cwd;
  return options;
}

RunResult TestDaemon::Git(const TestKey& key, const std::vector<std::string>& args,
                          const std::filesystem::path& cwd) const {
  return Run(GitOptions(key, args, cwd), "", std::chrono::minutes(2));
}

Child TestDaemon::GitInBackground(const TestKey& key, const std::vector<std::string>& args,
                                  const std::filesystem::path& cwd) const {
  SpawnOptions options = GitOptions(key, args, cwd);
  options.pipe_stderr = true;
  return Spawn(options);
}

bool TestDaemon::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(log_mutex_);
  return log_changed_.wait_for(lock, timeout,
                               [&] { return log_.find(needle) != std::string::npos; });
}

bool TestDaemon::WaitForLogCount(const std::string& needle, size_t count,
                                 std::chrono::milliseconds timeout) {
  const auto occurrences = [&] {
    size_t n = 0;
    for (size_t at = log_.find(needle); at != std::string::npos; at = log_.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  std::unique_lock lock(log_mutex_);
  return log_changed_.wait_for(lock, timeout, [&] { return occurrences() >= count; });
}

std::string TestDaemon::Log() {
  std::lock_guard lock(log_mutex_);
  return log_;
}

std::filesystem::path TestDaemon::RepoPath(const std::string& app) const {
  return data_dir() / "repos" / (app + ".git");
}

std::vector<std::string> TestDaemon::ClientEnv() const { return BaseEnv(dir() / "home"); }

Child OpenReceivePack(const TestDaemon& daemon, const TestKey& key, const std::string& app,
                      const std::vector<std::string>& ssh_options) {
  SpawnOptions options;
  options.argv = daemon.SshArgs(key);
  options.argv.insert(options.argv.end(), ssh_options.begin(), ssh_options.end());
  options.argv.push_back("git@127.0.0.1");
  options.argv.push_back("git-receive-pack '" + app + ".git'");
  options.env = daemon.ClientEnv();
  options.pipe_stdin = options.pipe_stdout = true;
  Child client = Spawn(options);
  pollfd fd{client.stdout_fd().get(), POLLIN, 0};
  char buffer[256];
  if (poll(&fd, 1, 20000) != 1 || read(client.stdout_fd().get(), buffer, sizeof buffer) <= 0) {
    throw std::runtime_error("no ref advertisement from receive-pack for " + app);
  }
  return client;
}

std::string GitOk(const std::filesystem::path& repo, const std::vector<std::string>& args) {
  SpawnOptions options;
  options.argv = {"git", "-C", repo.string()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = BaseEnv(repo.parent_path());
  const RunResult r = Run(options);
  if (r.exit_code != 0) {
    throw std::runtime_error("git " + Join(args) + " failed in " + repo.string() + ": " + r.err);
  }
  return r.out;
}

void MakeRepo(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  GitOk(dir, {"init", "-q", "-b", "main"});
}

void MakeAppRepo(const std::filesystem::path& dir) {
  MakeRepo(dir);
  CommitFile(dir, "Dockerfile", "FROM scratch\nCOPY . /app\n", "Dockerfile");
}

void CommitFile(const std::filesystem::path& repo, const std::string& path,
                const std::string& content, const std::string& message) {
  std::filesystem::create_directories((repo / path).parent_path());
  std::ofstream(repo / path) << content;
  GitOk(repo, {"add", path});
  GitOk(repo, {"commit", "-q", "-m", message});
}

}  // namespace hephy
