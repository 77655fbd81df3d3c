// registry.embedded: true. hephyd runs Debian's docker-registry itself, on
// registry.url over plain HTTP, with its storage in a directory of hephyd's,
// and keeps it running for as long as this object lives.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "net/http_connection.h"
#include "util/process.h"

namespace hephy {

class EmbeddedRegistry {
 public:
  // HTTPS instead of plain HTTP, for tests of TLS clients: hephyd's own
  // embedded registry is always plain HTTP on loopback.
  struct Tls {
    std::filesystem::path certificate;  // PEM, naming url's host
    std::filesystem::path key;          // PEM, unencrypted
    std::filesystem::path ca_file;      // what the readiness probe trusts
  };

  // Authentication. hephyd's own registry takes the tokens hephyd issues
  // (TokenAuth); tests of clients that log in use both kinds. Basic
  // authentication against an htpasswd file (bcrypt entries only, as
  // docker-registry reads no other kind).
  struct HtpasswdAuth {
    std::string realm;
    std::filesystem::path path;
  };
  // Bearer tokens (the docker token protocol): clients get them at `realm`
  // for `service`; the registry accepts JWTs whose iss is `issuer` and whose
  // x5c chain ends at a certificate of `root_cert_bundle` (PEM).
  struct TokenAuth {
    std::string realm;  // the token endpoint's URL
    std::string service;
    std::string issuer;
    std::filesystem::path root_cert_bundle;
  };
  using Auth = std::variant<HtpasswdAuth, TokenAuth>;

  // Writes dir/config.yml (storage in dir/data, deletes enabled, http.addr =
  // url, http.tls with `tls`, auth with `auth`, log level warn), starts
  // `docker-registry serve` on `url` ("host[:port]", port 80 by default) and
  // returns once that very process answers GET /v2/ (15 s at most; with
  // `auth`, its 401 counts as an answer). Its log lines are relayed to the
  // "registry" logger. Throws Error naming the url and the reason, with the
  // registry's last log lines, when it exits first (for a taken port, with
  // what to do instead) or does not answer in time.
  EmbeddedRegistry(const std::string& url, const std::filesystem::path& dir,
                   const std::optional<Tls>& tls = std::nullopt,
                   const std::optional<Auth>& auth = std::nullopt);

  // Stops the registry: SIGTERM, then SIGKILL after 5 s; reaps it.
  ~EmbeddedRegistry();
  EmbeddedRegistry(const EmbeddedRegistry&) = delete;
  EmbeddedRegistry& operator=(const EmbeddedRegistry&) = delete;

  const std::string& url() const { return url_; }

  // The running registry's pid; -1 while it is being restarted.
  pid_t pid() const;

  // How many registry processes have answered so far: 1 once the constructor
  // returned, one more after each restart. A registry that dies is logged
  // and restarted after a back-off (0.5 s doubling to 30 s).
  int starts() const;

  // Blocks until starts() >= n, up to `timeout`; false if it did not come to
  // that. For callers (and tests) that must not race a restart.
  bool WaitForStarts(int n, std::chrono::milliseconds timeout) const;

  // Frees the blobs no manifest references any more: stops the registry
  // (so that nothing is written meanwhile; a push in progress would fail,
  // so callers hold builds off first), runs `docker-registry
  // garbage-collect` on its config, and starts it again, returning once it
  // answers. Returns the storage's bytes before and after. Throws Error
  // with the collector's output when it fails (the registry is started
  // again all the same), or when the registry is being stopped. One
  // collection at a time; thread-safe.
  struct Collected {
    uint64_t bytes_before = 0;
    uint64_t bytes_after = 0;
  };
  Collected CollectGarbage();

 private:
  enum class Outcome { kReady, kExited, kStopped, kTimedOut };

  void Launch();
  Outcome AwaitReady(std::chrono::steady_clock::time_point deadline);
  bool Answers();
  void RelayLog();
  int Reap();
  std::string LastLines() const;
  bool StopRequested(std::chrono::milliseconds wait) const;
  void Supervise();
  bool Restart(std::chrono::milliseconds& backoff);
  void Terminate();
  void MarkStarted();
  void Collect();

  const std::string url_;
  const HostPort server_;
  const std::filesystem::path config_path_;
  // A random value the registry sends in a response header: proof that the
  // process answering on url_ is ours, not another one holding the port.
  const std::string token_;
  // Set when the registry speaks TLS.
  std::unique_ptr<TlsContext> probe_tls_;
  // A registry with auth answers the probe's anonymous GET /v2/ with 401.
  const bool auth_;
  UniqueFd stop_fd_;
  // Asks the supervisor for a garbage collection (CollectGarbage).
  UniqueFd collect_fd_;
  const std::filesystem::path data_dir_;

  // Owned by the constructor's thread, then by the supervisor thread alone.
  Child child_;
  UniqueFd pidfd_;
  std::string partial_line_;
  std::deque<std::string> last_lines_;
  std::chrono::steady_clock::time_point started_at_;

  mutable std::mutex mutex_;
  mutable std::condition_variable started_;
  pid_t pid_ = -1;
  int starts_ = 0;
  // One collection: asked, then done with its outcome (error "" when it worked).
  std::mutex collecting_;
  bool collect_done_ = false;
  Collected collected_;
  std::string collect_error_;

  std::thread supervisor_;
};

}  // namespace hephy
