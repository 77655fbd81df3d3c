#include "ssh/ssh_server.h"

#include <arpa/inet.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "hephy/error.h"
#include "ssh/host_keys.h"
#include "ssh/ssh_session.h"
#include "util/logging.h"
#include "util/metrics.h"
#include "util/ssh_algorithms.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("ssh");
  return logger;
}

// "host:port" or "[v6]:port" of one end of a connected socket.
std::string Address(int fd, bool peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* raw = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? getpeername(fd, raw, &len) : getsockname(fd, raw, &len)) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
}

// Turns a connection away before its key exchange: the client sees the
// connection closed.
void Refuse(ssh_session session) {
  ssh_disconnect(session);
  ssh_free(session);
}

uint16_t BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

std::string HostOfAddress(const std::string& address) {
  if (address.starts_with('[')) return address.substr(1, address.find(']') - 1);
  return address.substr(0, address.rfind(':'));
}

SshServer::SshServer(const Config& config, const RepoStore& repos, PushLedger& pushes,
                     DrainGate& drain, SessionLimits& limits, AuthThrottle& throttle)
    : config_(config),
      repos_(repos),
      pushes_(pushes),
      drain_(drain),
      limits_(limits),
      throttle_(throttle),
      stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_fd_) throw Error("eventfd failed");
}

SshServer::~SshServer() {
  if (bind_ != nullptr) ssh_bind_free(bind_);
}

ListenAddress SshServer::Listen() {
  bind_ = ssh_bind_new();
  if (bind_ == nullptr) throw Error("cannot create SSH listener");
  const auto& listen = config_.ssh.listen;
  const bool no = false;
  const unsigned int port = listen.port;
  ssh_bind_options_set(bind_, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);  // no /etc/ssh config
  ssh_bind_options_set(bind_, SSH_BIND_OPTIONS_BINDADDR, listen.host.c_str());
  ssh_bind_options_set(bind_, SSH_BIND_OPTIONS_BINDPORT, &port);
  // "SSH-2.0-hephyd": the library's version is nobody's business.
  ssh_bind_options_set(bind_, SSH_BIND_OPTIONS_BANNER, "hephyd");
  const auto offer = [&](ssh_bind_options_e option, SshAlgorithmKind kind,
                         const std::vector<std::string>& configured, const char* what) {
    std::string list;
    for (const auto& name : configured.empty() ? DefaultSshAlgorithms(kind) : configured) {
      list += (list.empty() ? "" : ",") + name;
    }
    if (ssh_bind_options_set(bind_, option, list.c_str()) != SSH_OK) {
      throw Error(std::string("ssh.") + what + ": " + ssh_get_error(bind_));
    }
  };
  const auto& ssh = config_.ssh;
  offer(SSH_BIND_OPTIONS_KEY_EXCHANGE, SshAlgorithmKind::kKex, ssh.kex, "kex");
  offer(SSH_BIND_OPTIONS_CIPHERS_C_S, SshAlgorithmKind::kCipher, ssh.ciphers, "ciphers");
  offer(SSH_BIND_OPTIONS_CIPHERS_S_C, SshAlgorithmKind::kCipher, ssh.ciphers, "ciphers");
  offer(SSH_BIND_OPTIONS_HMAC_C_S, SshAlgorithmKind::kMac, ssh.macs, "macs");
  offer(SSH_BIND_OPTIONS_HMAC_S_C, SshAlgorithmKind::kMac, ssh.macs, "macs");
  // Never ssh-rsa: SHA-1 signatures.
  ssh_bind_options_set(bind_, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
                       "ssh-ed25519,rsa-sha2-512,rsa-sha2-256");
  for (const auto& key : EnsureHostKeys(config_.HostKeysDir())) {
    if (ssh_bind_options_set(bind_, SSH_BIND_OPTIONS_HOSTKEY, key.c_str()) != SSH_OK) {
      throw Error(key.string() + ": cannot load host key: " + ssh_get_error(bind_));
    }
  }
  if (ssh_bind_listen(bind_) != SSH_OK) {
    throw Error("ssh.listen " + listen.ToString() + ": " + ssh_get_error(bind_));
  }
  return ListenAddress{listen.host, BoundPort(ssh_bind_get_fd(bind_))};
}

void SshServer::Run() {
  const SessionContext context{config_, repos_,    stop_fd_.get(), pushes_,
                               limits_, throttle_, drain_};
  pollfd fds[2] = {{ssh_bind_get_fd(bind_), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[1].revents != 0) break;
    if (fds[0].revents == 0) continue;

    ssh_session session = ssh_new();
    if (ssh_bind_accept(bind_, session) != SSH_OK) {
      Log()->warn("accept failed: {}", ssh_get_error(bind_));
      ssh_free(session);
      continue;
    }
    const std::string remote = Address(ssh_get_fd(session), /*peer=*/true);
    const std::string local = Address(ssh_get_fd(session), /*peer=*/false);
    const auto now = AuthThrottle::Clock::now();
    if (const auto until = throttle_.BlockedUntil(HostOfAddress(remote), now)) {
      // Not at info: an address that keeps trying would flood the log.
      Log()->debug("remote={} refused: blocked for {}s more (ssh.auth_failures)", remote,
                   std::chrono::ceil<std::chrono::seconds>(*until - now).count());
      Refuse(session);
      continue;
    }
    bool per_address = false;
    SessionLimits::Slot handshake = limits_.StartHandshake(HostOfAddress(remote), &per_address);
    if (!handshake) {
      if (per_address) {
        Log()->warn(
            "remote={} refused: ssh.max_startups_per_address ({}) connections from it are "
            "authenticating",
            remote, config_.ssh.max_startups_per_address);
      } else {
        Log()->warn("remote={} refused: ssh.max_startups ({}) connections are authenticating",
                    remote, config_.ssh.max_startups);
      }
      Refuse(session);
      continue;
    }
    // SSH writes many small packets whose answers the client waits for (key
    // exchange, auth, git's ref negotiation, exit status): Nagle's algorithm
    // would hold each behind the client's delayed ACK for ~40 ms.
    const int one = 1;
    setsockopt(ssh_get_fd(session), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Bounds the blocking steps (the final flush of exit status and close).
    const long timeout_seconds = 30;
    ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout_seconds);
    // The session takes the slot: none may stay behind in this closure.
    sessions_.Start([session, remote, local, handshake = std::move(handshake), &context]() mutable {
      const GaugeScope active(Metrics().ssh_sessions.With({}));
      SshSession(session, context, remote, local, std::move(handshake)).Run();
    });
  }
  sessions_.Wait();
}

void SshServer::Stop() {
  const uint64_t one = 1;
  // Never read back: the descriptor stays readable, waking every session.
  [[maybe_unused]] const auto n = write(stop_fd_.get(), &one, sizeof one);
}

}  // namespace hephy
