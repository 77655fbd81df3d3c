#include "registry/embedded_registry.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "hephy/error.h"
#include "util/hex.h"
#include "util/logging.h"

extern char** environ;

namespace hephy {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(15);
constexpr auto kProbeInterval = std::chrono::milliseconds(50);
// Short, as a probe may reach another program holding the port that never
// answers, while ours has already exited.
constexpr auto kProbeTimeout = std::chrono::milliseconds(500);
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kFirstBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
// A registry that ran this long before it died is restarted without the
// back-off its earlier deaths accumulated.
constexpr auto kStableRun = std::chrono::seconds(60);
constexpr size_t kKeptLines = 5;

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("registry");
  return logger;
}

HostPort ParseUrl(const std::string& url) {
  try {
    return ParseHostPort(url, 80);
  } catch (const Error& e) {
    throw Error(std::string("embedded registry: registry.url ") + e.what());
  }
}

// A YAML double-quoted scalar: a path may hold any character.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string AuthYaml(const EmbeddedRegistry::Auth& auth) {
  if (const auto* basic = std::get_if<EmbeddedRegistry::HtpasswdAuth>(&auth)) {
    return "auth:\n  htpasswd:\n    realm: " + Quoted(basic->realm) +
           "\n    path: " + Quoted(basic->path.string()) + "\n";
  }
  const auto& token = std::get<EmbeddedRegistry::TokenAuth>(auth);
  return "auth:\n  token:\n    realm: " + Quoted(token.realm) +
         "\n    service: " + Quoted(token.service) + "\n    issuer: " + Quoted(token.issuer) +
         "\n    rootcertbundle: " + Quoted(token.root_cert_bundle.string()) + "\n";
}

std::string ConfigYaml(const HostPort& server, const std::filesystem::path& data,
                       const std::string& token, const std::optional<EmbeddedRegistry::Tls>& tls,
                       const std::optional<EmbeddedRegistry::Auth>& auth) {
  std::string tls_yaml;
  if (tls) {
    tls_yaml = "  tls:\n    certificate: " + Quoted(tls->certificate.string()) +
               "\n    key: " + Quoted(tls->key.string()) + "\n";
  }
  // Level warn, no access log: docker-registry would otherwise log every
  // request into hephyd's log. The secret signs upload state; one per
  // instance, as only this one process serves it.
  return "version: 0.1\n"
         "log:\n"
         "  level: warn\n"
         "  formatter: text\n"
         "  accesslog:\n"
         "    disabled: true\n"
         "storage:\n"
         "  filesystem:\n"
         "    rootdirectory: " +
         Quoted(data.string()) +
         "\n"
         "  delete:\n"
         "    enabled: true\n"
         "http:\n"
         "  addr: " +
         Quoted(server.Authority()) +
         "\n"
         "  secret: " +
         Quoted(RandomHex(32)) +
         "\n"
         "  headers:\n"
         "    X-Hephy-Registry: [" +
         Quoted(token) + "]\n" + tls_yaml + (auth ? AuthYaml(*auth) : "");
}

// hephyd's environment without REGISTRY_*: docker-registry reads those as
// overrides of its config file, which would silently move its address or
// storage away from what hephyd wrote.
std::vector<std::string> RegistryEnv() {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "REGISTRY_", 9) != 0) env.emplace_back(*entry);
  }
  return env;
}

// A field of a logrus text line: `time="..." level=error msg="..." k=v`.
std::string LogField(const std::string& line, const std::string& key) {
  size_t at = line.starts_with(key + "=") ? 0 : line.find(" " + key + "=");
  if (at == std::string::npos) return "";
  at += (at == 0 ? 0 : 1) + key.size() + 1;
  if (at < line.size() && line[at] == '"') {
    std::string value;
    for (size_t i = at + 1; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) ++i;
      value += line[i];
    }
    return value;
  }
  return line.substr(at, line.find(' ', at) - at);
}

// What a registry log line is to hephyd's log. Every 4xx answer (a HEAD for
// a blob not pushed yet included) is an "error" to docker-registry, but
// routine to its client, whose own errors report what matters. So is the 401
// (a warning "error authorizing context") that starts every client's login.
spdlog::level::level_enum LevelOf(const std::string& line) {
  const std::string level = LogField(line, "level");
  const std::string message = LogField(line, "msg");
  if ((message == "response completed with error" &&
       LogField(line, "http.response.status").starts_with("4")) ||
      message.starts_with("error authorizing context:")) {
    return spdlog::level::debug;
  }
  if (level == "error" || level == "fatal" || level == "panic") return spdlog::level::err;
  if (level == "info") return spdlog::level::info;
  if (level == "debug") return spdlog::level::debug;
  return spdlog::level::warn;  // warnings, and lines that are not logrus's (a Go panic)
}

// The line without logrus's timestamp; spdlog adds its own.
std::string WithoutTime(const std::string& line) {
  if (!line.starts_with("time=\"")) return line;
  const auto end = line.find("\" ", 6);
  return end == std::string::npos ? line : line.substr(end + 2);
}

}  // namespace

EmbeddedRegistry::EmbeddedRegistry(const std::string& url, const std::filesystem::path& dir,
                                   const std::optional<Tls>& tls, const std::optional<Auth>& auth)
    : url_(url),
      server_(ParseUrl(url)),
      config_path_(dir / "config.yml"),
      token_(RandomHex(16)),
      probe_tls_(tls ? std::make_unique<TlsContext>(tls->ca_file) : nullptr),
      auth_(auth.has_value()),
      stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      collect_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      data_dir_(dir / "data") {
  const std::string context = "embedded registry on " + url_ + ": ";
  if (!stop_fd_ || !collect_fd_) throw Error(context + "eventfd: " + std::strerror(errno));
  // A hephyd that crashed left its registry running (it is in a process
  // group of its own), holding the port and the storage.
  if (KillGroupsWithArgumentUnder(dir)) {
    Log()->warn("stopped the registry a hephyd that crashed left running on {}", url_);
  }
  std::error_code ec;
  std::filesystem::create_directories(dir / "data", ec);
  if (ec) throw Error(context + "cannot create " + (dir / "data").string() + ": " + ec.message());
  {
    std::ofstream out(config_path_, std::ios::trunc);
    out << ConfigYaml(server_, dir / "data", token_, tls, auth);
    if (!out.flush()) throw Error(context + "cannot write " + config_path_.string());
  }

  try {
    Launch();
  } catch (const Error& e) {
    throw Error(context + e.what() +
                " (install the docker-registry package, or set registry.embedded: false)");
  }
  const Outcome outcome = AwaitReady(std::chrono::steady_clock::now() + kStartTimeout);
  if (outcome == Outcome::kReady) {
    MarkStarted();
    Log()->info("docker-registry (pid {}) serving {} from {}", child_.pid(), url_,
                (dir / "data").string());
    supervisor_ = std::thread([this] { Supervise(); });
    return;
  }
  std::string message = context;
  if (outcome == Outcome::kExited) {
    message += "docker-registry exited with code " + std::to_string(Reap());
  } else {
    child_.KillGroup(SIGKILL);
    Reap();
    message += "docker-registry did not answer GET /v2/ within " +
               std::to_string(kStartTimeout.count()) + " s";
  }
  message += LastLines();
  if (message.find("address already in use") != std::string::npos) {
    message +=
        ". The port is taken: set registry.embedded: false to use the registry listening "
        "there, or choose another registry.url";
  }
  throw Error(message);
}

EmbeddedRegistry::~EmbeddedRegistry() {
  if (!supervisor_.joinable()) return;
  const uint64_t one = 1;
  // The supervisor stops the registry itself: it alone touches child_.
  [[maybe_unused]] const ssize_t written = write(stop_fd_.get(), &one, sizeof one);
  supervisor_.join();
}

pid_t EmbeddedRegistry::pid() const {
  const std::lock_guard lock(mutex_);
  return pid_;
}

int EmbeddedRegistry::starts() const {
  const std::lock_guard lock(mutex_);
  return starts_;
}

bool EmbeddedRegistry::WaitForStarts(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return started_.wait_for(lock, timeout, [&] { return starts_ >= n; });
}

void EmbeddedRegistry::Launch() {
  last_lines_.clear();
  partial_line_.clear();
  SpawnOptions options;
  options.argv = {"docker-registry", "serve", config_path_.string()};
  options.env = RegistryEnv();
  options.pipe_stderr = true;  // its log, relayed; stdout stays /dev/null
  child_ = Spawn(options);
  // A pidfd turns the child's exit into something poll() waits for, beside
  // its log pipe and the stop request.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child_.pid(), 0));
  if (pidfd < 0) throw Error(std::string("pidfd_open: ") + std::strerror(errno));
  pidfd_.Reset(pidfd);
  const std::lock_guard lock(mutex_);
  pid_ = child_.pid();
}

EmbeddedRegistry::Outcome EmbeddedRegistry::AwaitReady(
    std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    pollfd fds[3] = {{stop_fd_.get(), POLLIN, 0},
                     {child_.stderr_fd().get(), POLLIN, 0},
                     {pidfd_.get(), POLLIN, 0}};
    if (poll(fds, 3, static_cast<int>(kProbeInterval.count())) < 0 && errno != EINTR) {
      throw Error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents != 0) return Outcome::kStopped;
    RelayLog();
    if (fds[2].revents != 0) return Outcome::kExited;
    if (Answers()) return Outcome::kReady;
    if (std::chrono::steady_clock::now() >= deadline) return Outcome::kTimedOut;
  }
}

bool EmbeddedRegistry::Answers() {
  try {
    HttpConnection probe(server_, kProbeTimeout, 64 * 1024, probe_tls_.get());
    const HttpResponse response = probe.Send({"GET", "/v2/", {}, ""});
    // docker-registry sends its configured headers with a 401 too.
    return (response.status == 200 || (auth_ && response.status == 401)) &&
           response.Header("x-hephy-registry") == token_;
  } catch (const Error&) {
    return false;  // not listening yet
  }
}

void EmbeddedRegistry::RelayLog() {
  UniqueFd& fd = child_.stderr_fd();
  char buffer[4096];
  while (fd) {
    const ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: all read for now
    if (n == 0) {
      fd.Reset();
      if (partial_line_.empty()) return;
      partial_line_ += '\n';
    } else {
      partial_line_.append(buffer, n);
    }
    size_t end;
    while ((end = partial_line_.find('\n')) != std::string::npos) {
      const std::string line = partial_line_.substr(0, end);
      partial_line_.erase(0, end + 1);
      if (line.empty()) continue;
      const auto level = LevelOf(line);
      Log()->log(level, "{}", WithoutTime(line));
      // Kept for error messages: what went wrong, not routine 4xx answers.
      if (level >= spdlog::level::warn) {
        last_lines_.push_back(line);
        if (last_lines_.size() > kKeptLines) last_lines_.pop_front();
      }
    }
  }
}

int EmbeddedRegistry::Reap() {
  // Everything the registry wrote before it exited is in the pipe by now.
  RelayLog();
  const int code = child_.Wait();
  child_.stderr_fd().Reset();
  pidfd_.Reset();
  const std::lock_guard lock(mutex_);
  pid_ = -1;
  return code;
}

std::string EmbeddedRegistry::LastLines() const {
  std::string out;
  for (const auto& line : last_lines_) {
    const std::string message = LogField(line, "msg");
    out += (out.empty() ? ": " : "; ") + (message.empty() ? line : message);
  }
  return out;
}

bool EmbeddedRegistry::StopRequested(std::chrono::milliseconds wait) const {
  pollfd fd{stop_fd_.get(), POLLIN, 0};
  return poll(&fd, 1, static_cast<int>(wait.count())) > 0;
}

void EmbeddedRegistry::MarkStarted() {
  started_at_ = std::chrono::steady_clock::now();
  {
    const std::lock_guard lock(mutex_);
    ++starts_;
  }
  started_.notify_all();
}

void EmbeddedRegistry::Supervise() {
  std::chrono::milliseconds backoff = kFirstBackoff;
  for (;;) {
    pollfd fds[4] = {{stop_fd_.get(), POLLIN, 0},
                     {child_.stderr_fd().get(), POLLIN, 0},
                     {pidfd_.get(), POLLIN, 0},
                     {collect_fd_.get(), POLLIN, 0}};
    if (poll(fds, 4, -1) < 0 && errno != EINTR) {
      Log()->error("supervising docker-registry on {}: poll: {}", url_, std::strerror(errno));
      break;
    }
    if (fds[0].revents != 0) break;
    RelayLog();
    if (fds[3].revents != 0 && fds[2].revents == 0) {
      uint64_t asked = 0;
      [[maybe_unused]] const ssize_t n = read(collect_fd_.get(), &asked, sizeof asked);
      Collect();
      std::chrono::milliseconds now{0};
      if (!Restart(now)) break;
      {
        std::lock_guard lock(mutex_);
        collect_done_ = true;
      }
      started_.notify_all();
      continue;
    }
    if (fds[2].revents == 0) continue;

    if (std::chrono::steady_clock::now() - started_at_ >= kStableRun) backoff = kFirstBackoff;
    const int code = Reap();
    Log()->error("docker-registry on {} exited with code {}{}; restarting it in {} ms", url_, code,
                 LastLines(), backoff.count());
    if (!Restart(backoff)) break;
  }
  Terminate();
  // A collection asked for while stopping is not done; say so.
  std::lock_guard lock(mutex_);
  if (!collect_done_) {
    collect_error_ = "the registry is stopping";
    collect_done_ = true;
  }
  started_.notify_all();
}

namespace {

// The bytes of the regular files under `dir`.
uint64_t BytesUnder(const std::filesystem::path& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) bytes += size;
    }
  }
  return bytes;
}

}  // namespace

EmbeddedRegistry::Collected EmbeddedRegistry::CollectGarbage() {
  const std::lock_guard one_at_a_time(collecting_);
  {
    std::lock_guard lock(mutex_);
    collect_done_ = false;
    collect_error_.clear();
  }
  if (!supervisor_.joinable()) throw Error("embedded registry on " + url_ + ": not running");
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(collect_fd_.get(), &one, sizeof one);
  std::unique_lock lock(mutex_);
  started_.wait(lock, [&] { return collect_done_; });
  if (!collect_error_.empty()) {
    throw Error("embedded registry on " + url_ + ": garbage collection: " + collect_error_);
  }
  return collected_;
}

// On the supervisor's thread: the registry is stopped, so nothing writes to
// its storage while the collector reads which blobs are referenced.
void EmbeddedRegistry::Collect() {
  Log()->info("stopping docker-registry on {} for garbage collection", url_);
  Terminate();
  Collected collected{.bytes_before = BytesUnder(data_dir_)};
  std::string error;
  try {
    SpawnOptions options;
    options.argv = {"docker-registry", "garbage-collect", config_path_.string()};
    options.env = RegistryEnv();
    options.pipe_stdout = true;
    options.stderr_to_stdout = true;
    const RunResult result = Run(options, "", std::chrono::hours(1));
    if (result.timed_out || result.exit_code != 0) {
      std::string output = result.out;
      if (output.size() > 2000) output = output.substr(output.size() - 2000);
      error = "docker-registry garbage-collect " +
              (result.timed_out ? std::string("took over an hour")
                                : "exited with code " + std::to_string(result.exit_code)) +
              (output.empty() ? "" : ": " + output);
    }
  } catch (const Error& e) {
    error = e.what();
  }
  collected.bytes_after = BytesUnder(data_dir_);
  if (error.empty()) {
    Log()->info("garbage collection of {} freed {} bytes", url_,
                collected.bytes_before - std::min(collected.bytes_before, collected.bytes_after));
  } else {
    Log()->error("{}", error);
  }
  {
    std::lock_guard lock(mutex_);
    collected_ = collected;
    collect_error_ = error;
  }
}

bool EmbeddedRegistry::Restart(std::chrono::milliseconds& backoff) {
  for (;;) {
    if (StopRequested(backoff)) return false;
    backoff = std::clamp(backoff * 2, std::chrono::milliseconds(kFirstBackoff),
                         std::chrono::milliseconds(kMaxBackoff));
    try {
      Launch();
    } catch (const Error& e) {
      Log()->error("cannot restart docker-registry on {}: {}; retrying in {} ms", url_, e.what(),
                   backoff.count());
      continue;
    }
    switch (AwaitReady(std::chrono::steady_clock::now() + kStartTimeout)) {
      case Outcome::kReady:
        MarkStarted();
        Log()->info("docker-registry on {} restarted (pid {})", url_, child_.pid());
        return true;
      case Outcome::kStopped:
        return false;
      case Outcome::kExited: {
        const int code = Reap();
        Log()->error("restarted docker-registry on {} exited with code {}{}; retrying in {} ms",
                     url_, code, LastLines(), backoff.count());
        break;
      }
      case Outcome::kTimedOut:
        child_.KillGroup(SIGKILL);
        Reap();
        Log()->error(
            "restarted docker-registry on {} did not answer within {} s; retrying in {} ms", url_,
            kStartTimeout.count(), backoff.count());
        break;
    }
  }
}

void EmbeddedRegistry::Terminate() {
  if (child_.pid() <= 0) return;
  child_.KillGroup(SIGTERM);
  pollfd fd{pidfd_.get(), POLLIN, 0};
  int ready;
  do {
    ready = poll(&fd, 1, static_cast<int>(std::chrono::milliseconds(kStopGrace).count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    Log()->warn("docker-registry on {} still runs {} s after SIGTERM; killing it", url_,
                kStopGrace.count());
    child_.KillGroup(SIGKILL);
  }
  Reap();
}

}  // namespace hephy
