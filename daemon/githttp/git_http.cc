#include "githttp/git_http.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "api/api_tokens.h"
#include "api/authorization.h"
#include "api/transport_security.h"
#include "git/git_access.h"
#include "githttp/git_http_route.h"
#include "githttp/receive_pack_notice.h"
#include "hephy/error.h"
#include "hephy/hook_protocol.h"
#include "hephy/store.h"
#include "push/push_audit.h"
#include "push/push_commands.h"
#include "ssh/ssh_server.h"
#include "util/disk_space.h"
#include "util/gzip_inflater.h"
#include "util/logging.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("git-http");
  return logger;
}

// Of each read from the socket, git's stdout or stderr. Measured with
// bench/push-ingest: 64 KiB and 1 MiB are both slower.
constexpr size_t kBufferSize = 256 * 1024;
// Of git's stdin pipe (Linux's default is 64 KiB).
constexpr int kPipeSize = 1024 * 1024;
// A gzip-encoded request (git's negotiation of a fetch) decodes to at most
// this: more is a bomb, not a list of commits.
constexpr uint64_t kMaxDecodedBody = 256ull << 20;
// What of git's stderr is kept for the log.
constexpr size_t kStderrKept = 4096;

HttpServerResponse Text(int status, const std::string& text) {
  return {status, "text/plain; charset=utf-8", {}, text + "\n"};
}

HttpServerResponse Unauthorized() {
  return {401,
          "text/plain; charset=utf-8",
          {{"WWW-Authenticate", kBasicChallenge}},
          "hephyd: a user name and an API token, or a deploy token, are needed\n"};
}

std::string ContentType(GitService service, const char* kind) {
  return std::string("application/x-") + ServiceName(service) + "-" + kind;
}

// Responses a cache must never keep (the refs change with every push).
HttpServerResponse Head(const std::string& content_type) {
  return {200,
          content_type,
          {{"Cache-Control", "no-cache, max-age=0, must-revalidate"},
           {"Expires", "Fri, 01 Jan 1980 00:00:00 GMT"},
           {"Pragma", "no-cache"}},
          ""};
}

// The client's Git-Protocol header, as SSH's GIT_PROTOCOL: only a
// well-formed one is passed to git.
std::string GitProtocolOf(const HttpServerRequest& request) {
  const std::string value = request.Header("git-protocol");
  return IsWellFormedGitProtocol(value) ? value : "";
}

// Its parameters are separated by ':' ("version=2:object-format=sha1").
bool AsksForVersion2(const std::string& git_protocol) {
  return (":" + git_protocol + ":").find(":version=2:") != std::string::npos;
}

// Writes all of `data` to git's stdin (a non-blocking pipe), waiting while
// it is full; false once git no longer reads.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EAGAIN) {
      pollfd writable{fd, POLLOUT, 0};
      poll(&writable, 1, -1);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

// One request from authentication to the end of git's process.
class GitHttp::Exchange {
 public:
  Exchange(const Context& context, const HttpServerRequest& request, HttpExchange& exchange)
      : context_(context), request_(request), exchange_(exchange) {}

  void Run() {
    try {
      route_ = ParseGitHttpRoute(request_.method, request_.target);
    } catch (const GitHttpRouteError& e) {
      return exchange_.Respond(Text(e.status(), std::string("hephyd: ") + e.what()));
    }
    if (!Authenticate()) return;
    transport_ = SchemeOf(context_.config, request_);
    if (route_.kind == GitHttpRoute::Kind::kAdvertisement) return Advertise();
    ServiceExchange();
  }

 private:
  // Who the request's credentials stand for; false when it was answered.
  bool Authenticate() {
    const std::string host = HostOfAddress(request_.remote);
    const auto now = AuthThrottle::Clock::now();
    if (const auto until = context_.throttle.BlockedUntil(host, now)) {
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(*until - now).count();
      exchange_.Respond({429,
                         "text/plain; charset=utf-8",
                         {{"Retry-After", std::to_string(seconds)}},
                         "hephyd: too many failed attempts from " + host + "; try again in " +
                             std::to_string(seconds) + "s\n"});
      return false;
    }
    if (const auto refusal = CredentialsRefusal(context_.config, request_)) {
      exchange_.Respond(Text(403, "hephyd: " + *refusal));
      return false;
    }
    const std::string header = request_.Header("authorization");
    if (header.empty()) {
      exchange_.Respond(Unauthorized());
      return false;
    }
    const auto authorization = ParseAuthorization(header);
    const auto basic = authorization ? BasicCredentialsOf(*authorization) : std::nullopt;
    if (basic && LooksLikeApiToken(basic->password)) {
      const std::string hash = HashApiToken(basic->password);
      store_.emplace(context_.config.DatabasePath());
      if (auto user = store_->FindUserByApiToken(hash); user && user->name == basic->user) {
        user_ = std::move(user);
        key_ = "token";
      } else if (const auto token = store_->FindDeployToken(hash)) {
        deploy_key_ = DeployKey{.id = token->id,
                                .app = token->app,
                                .access = token->access,
                                .key = {},
                                .added_by = {},
                                .created_at = token->created_at};
        key_ = "token:" + std::to_string(token->id);
      }
    }
    if (user_ || deploy_key_) return true;
    // One answer for every failure: no hint whether the user or app exists.
    if (context_.throttle.Failed(host, now)) {
      Log()->warn("remote={} blocked for {}s: too many failed attempts (ssh.auth_failures)",
                  request_.remote, context_.config.ssh.auth_failures.block.count());
    }
    Log()->info("remote={} {} {}: invalid credentials", request_.remote, request_.method,
                PathForLog());
    exchange_.Respond(Unauthorized());
    return false;
  }

  GitAccessRequest AccessRequest(GitExchange mode) {
    return GitAccessRequest{.command = {route_.service, route_.app},
                            .user = user_,
                            .deploy_key = deploy_key_,
                            .key_fingerprint = key_,
                            .git_protocol = GitProtocolOf(request_),
                            .push_id = push_id_,
                            .exchange = mode};
  }

  bool Pushing() const { return route_.service == GitService::kReceivePack; }

  // GET info/refs: the service's announcement, then git's ref advertisement.
  void Advertise() {
    const GitAccessRequest access = AccessRequest(GitExchange::kAdvertisement);
    const bool version2 = !Pushing() && AsksForVersion2(access.git_protocol);
    // Before v2, the response names its service first (gitprotocol-http(5)).
    const std::string announcement =
        version2 ? ""
                 : hook::Packet("# service=" + std::string(ServiceName(route_.service)) + "\n") +
                       std::string(hook::kFlush);
    const auto refuse = [&](const std::string& message) {
      HttpServerResponse response = Head(ContentType(route_.service, "advertisement"));
      response.body = announcement + hook::Packet("ERR " + message + "\n");
      exchange_.Respond(std::move(response));
      Log()->info("remote={} {} {} app={}: refused: {}", request_.remote, Who(),
                  ServiceName(route_.service), route_.app, message);
    };
    SpawnOptions spawn;
    try {
      if (Pushing()) {
        if (context_.drain.draining()) {
          AuditDenied(std::string(DrainGate::kRefusal));
          return refuse(std::string(DrainGate::kRefusal));
        }
        RequireFreeSpaceForPush(context_.config.data_dir, context_.config.serve.min_free_space);
      }
      spawn = AdmitGitCommand(access, context_.config, *store_, context_.repos);
    } catch (const Error& e) {
      if (Pushing()) AuditDenied(e.what());
      return refuse(std::string("hephyd: ") + e.what());
    }
    Child child = Spawn(spawn);
    RunGit(child, Head(ContentType(route_.service, "advertisement")), announcement, nullptr);
  }

  // POST SERVICE: the client's request to git, git's response to the client.
  void ServiceExchange() {
    const std::string content_type = request_.Header("content-type");
    if (content_type.substr(0, content_type.find(';')) != ContentType(route_.service, "request")) {
      return exchange_.Respond(
          Text(415, "hephyd: expected Content-Type " + ContentType(route_.service, "request")));
    }
    const std::string encoding = request_.Header("content-encoding");
    gzip_ = encoding == "gzip" || encoding == "x-gzip";
    if (!gzip_ && !encoding.empty() && encoding != "identity") {
      return exchange_.Respond(
          Text(415, "hephyd: unsupported Content-Encoding '" + encoding.substr(0, 40) + "'"));
    }
    if (Pushing()) push_id_ = NewPushId();
    SpawnOptions spawn;
    try {
      if (Pushing()) {
        // Not an Error: the words are said as they are, without "hephyd: ".
        drain_pass_ = context_.drain.Admit();
        if (!drain_pass_) return RefuseExchange(std::string(DrainGate::kRefusal));
        RequireFreeSpaceForPush(context_.config.data_dir, context_.config.serve.min_free_space);
        // A deploy token counts on its own, as builds name it.
        push_slot_ = context_.limits.StartPush(user_ ? user_->name : "deploy:" + key_);
        if (!push_slot_) {
          const int most = context_.config.ssh.max_pushes_per_user;
          throw Error(Who() + " already has " + std::to_string(most) +
                      (most == 1 ? " push" : " pushes") + " running (ssh.max_pushes_per_user)");
        }
      }
      spawn = AdmitGitCommand(AccessRequest(GitExchange::kStatelessRpc), context_.config, *store_,
                              context_.repos);
    } catch (const Error& e) {
      return RefuseExchange(std::string("hephyd: ") + e.what());
    }
    if (Pushing()) context_.pushes.Open(push_id_);
    Child child = Spawn(spawn);
    PushCommandReader commands;
    ReceivePackNotice notice(context_.config.data_dir);
    const auto on_body = [&commands, &notice](std::string_view bytes) {
      commands.Feed(bytes);
      notice.FeedRequest(bytes);
    };
    const std::string result = RunGit(child, Head(ContentType(route_.service, "result")), "",
                                      Pushing() ? on_body : std::function<void(std::string_view)>(),
                                      Pushing() ? &notice : nullptr);
    if (Pushing()) AuditPush(commands, result);
  }

  // Refuses a POST in words git shows: a pack's result in its sideband's
  // error band when the client asked for one, else an ERR packet.
  void RefuseExchange(const std::string& message) {
    bool sideband = false;
    if (Pushing() && !gzip_) {
      // The first command's capabilities: "OLD NEW REF\0report-status side-band-64k ...".
      std::string start;
      char buffer[4096];
      while (start.size() < 4 + hook::kMaxPayload) {
        const size_t n = ReadBodyOrNothing({buffer, sizeof buffer});
        if (n == 0) break;
        start.append(buffer, n);
        const int length = start.size() >= 4 ? hook::PacketLength(start.substr(0, 4)) : 0;
        if (length > 0 && start.size() >= static_cast<size_t>(length)) break;
      }
      const size_t nul = start.find('\0');
      sideband = nul != std::string::npos && start.find(" side-band", nul) != std::string::npos;
    }
    HttpServerResponse response = Head(ContentType(route_.service, "result"));
    response.body = sideband ? hook::Packet("\x03" + message + "\n") + std::string(hook::kFlush)
                             : hook::Packet("ERR " + message + "\n");
    exchange_.Respond(std::move(response));
    Log()->info("remote={} {} {} app={}: refused: {}", request_.remote, Who(),
                ServiceName(route_.service), route_.app, message);
    // As over SSH, the audit's reason goes without "hephyd: ".
    if (Pushing()) AuditDenied(message.starts_with("hephyd: ") ? message.substr(8) : message);
  }

  size_t ReadBodyOrNothing(std::span<char> buffer) {
    try {
      return exchange_.ReadBody(buffer);
    } catch (const Error&) {
      return 0;
    }
  }

  // Runs git: the request body (if any) to its stdin, `prefix` and then its
  // stdout to the client as a stream with `head`, each read passed on at
  // once. Returns how it ended, for the log and the audit record: "exit N",
  // or what went wrong with the client.
  std::string RunGit(Child& child, const HttpServerResponse& head, const std::string& prefix,
                     const std::function<void(std::string_view)>& on_body,
                     ReceivePackNotice* notice = nullptr) {
    const bool has_body = route_.kind == GitHttpRoute::Kind::kExchange;
    // A client that hangs up, or hephyd stopping, ends git and so the build.
    std::stop_callback hang_up(exchange_.stopping(), [&child] { child.KillGroup(SIGKILL); });
    UniqueFd body_done(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    std::string body_error;
    std::thread feeder;
    if (has_body) {
      // index-pack reads 4 KiB at a time: a larger pipe wakes the feeder
      // less often. Best effort; the default works too.
      fcntl(child.stdin_fd().get(), F_SETPIPE_SZ, kPipeSize);
      feeder = std::thread([&] {
        body_error = Feed(child, on_body);
        if (!body_error.empty()) child.KillGroup(SIGKILL);
        child.stdin_fd().Reset();
        const uint64_t one = 1;
        [[maybe_unused]] const auto n = write(body_done.get(), &one, sizeof one);
      });
    } else {
      child.stdin_fd().Reset();
    }

    bool started = false;
    bool client_gone = false;
    const auto start = [&] {
      if (started || client_gone) return !client_gone;
      started = true;
      if (!exchange_.StartStream(head) || (!prefix.empty() && !exchange_.Write(prefix))) {
        client_gone = true;
        child.KillGroup(SIGKILL);
      }
      return !client_gone;
    };
    std::string stderr_tail;
    bool stdout_open = true, stderr_open = true, body_pending = has_body;
    std::vector<char> buffer(kBufferSize);
    while (stdout_open || stderr_open) {
      pollfd fds[3] = {{stdout_open ? child.stdout_fd().get() : -1, POLLIN, 0},
                       {stderr_open ? child.stderr_fd().get() : -1, POLLIN, 0},
                       {body_pending ? body_done.get() : -1, POLLIN, 0}};
      if (poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        throw Error(std::string("poll: ") + std::strerror(errno));
      }
      if (fds[2].revents != 0) {
        // The whole request is in: from now on a client that hangs up is seen.
        body_pending = false;
        if (body_error.empty()) start();
      }
      if (fds[0].revents != 0) {
        const ssize_t n = read(fds[0].fd, buffer.data(), buffer.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {
          stdout_open = false;
        } else if (start() && !Write({buffer.data(), static_cast<size_t>(n)}, notice)) {
          client_gone = true;
          child.KillGroup(SIGKILL);
        }
      }
      if (fds[1].revents != 0) {
        const ssize_t n = read(fds[1].fd, buffer.data(), buffer.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {
          stderr_open = false;
        } else {
          stderr_tail.append(buffer.data(), static_cast<size_t>(n));
          if (stderr_tail.size() > kStderrKept)
            stderr_tail.erase(0, stderr_tail.size() - kStderrKept);
        }
      }
    }
    if (feeder.joinable()) feeder.join();
    const int code = child.Wait();
    client_gone = client_gone || exchange_.stopping().stop_requested();

    std::string result = "exit " + std::to_string(code);
    if (!body_error.empty()) {
      result = body_error;
    } else if (client_gone) {
      result = "client disconnected";
    }
    if (!stderr_tail.empty() && code != 0) {
      Log()->warn("remote={} {} {} app={}: git said: {}", request_.remote, Who(),
                  ServiceName(route_.service), route_.app,
                  stderr_tail.substr(0, stderr_tail.find_last_not_of('\n') + 1));
    }
    Log()->info("remote={} {} {} {} app={}: {}", request_.remote, Who(), transport_,
                ServiceName(route_.service), route_.app, result);
    if (!started && !client_gone && body_error.empty() && code == 0) {
      // git said nothing, as to the empty request git sends first to probe
      // a large push; it may have ended before the feeder said the body was
      // in.
      HttpServerResponse response = head;
      response.body = prefix;
      exchange_.Respond(std::move(response));
    } else if (!started) {
      if (!client_gone) {
        exchange_.Respond(Text(500, "hephyd: git " + std::string(ServiceName(route_.service)) +
                                        " failed (" + result + "); the daemon's log has more"));
      } else {
        exchange_.Respond(Text(400, "hephyd: " + result));
      }
    } else if (!client_gone && code == 0) {
      exchange_.Finish();
    }
    // Otherwise the stream is cut off, and the client sees it incomplete.
    return result;
  }

  // Passes git's output to the client, through `notice` when there is one.
  bool Write(std::string_view data, ReceivePackNotice* notice) {
    if (!notice) return exchange_.Write(data);
    return notice->Forward(data, [this](std::string_view part) { return exchange_.Write(part); });
  }

  // The request body to git's stdin, decoded when gzip; "" when all went
  // in, else what went wrong.
  std::string Feed(Child& child, const std::function<void(std::string_view)>& on_body) {
    const int fd = child.stdin_fd().get();
    bool git_reads = true;
    const auto to_git = [&](std::string_view data) {
      if (on_body) on_body(data);
      // git may stop reading early (it refused the request): the rest is
      // dropped, and git's answer says why.
      if (git_reads) git_reads = WriteAll(fd, data);
    };
    try {
      std::optional<GzipInflater> inflater;
      if (gzip_) inflater.emplace(kMaxDecodedBody);
      std::vector<char> buffer(kBufferSize);
      while (const size_t n = exchange_.ReadBody(buffer)) {
        const std::string_view data(buffer.data(), n);
        if (inflater) {
          inflater->Feed(data, to_git);
        } else {
          to_git(data);
        }
        if (!git_reads) break;
      }
      if (inflater && git_reads) inflater->Finish();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  void AuditDenied(const std::string& reason) { Audit(std::nullopt, "denied: " + reason); }

  void AuditPush(const PushCommandReader& commands, const std::string& result) {
    const auto verdict = context_.pushes.Close(push_id_);
    auto updates = commands.Updates();
    if (updates && updates->empty()) return;  // nothing was asked
    std::string outcome;
    try {
      outcome = RanPushResult(verdict, context_.repos.PathFor(route_.app), updates, result);
    } catch (const std::exception& e) {
      outcome = std::string("rejected: ") + e.what();
    }
    Audit(std::move(updates), outcome);
  }

  void Audit(std::optional<std::vector<RefUpdate>> updates, const std::string& outcome) {
    PushAttempt push{Who(), key_, route_.app, request_.remote, std::move(updates), transport_};
    try {
      store_->Audit(PushAuditEntry(push, outcome));
    } catch (const std::exception& e) {
      Log()->error("remote={} push {} app={}: cannot write its audit record: {}", request_.remote,
                   push_id_, route_.app, e.what());
    }
  }

  // As builds record the pusher (PusherName).
  std::string Who() const { return user_ ? user_->name : "deploy:" + key_; }

  std::string PathForLog() const { return request_.target.substr(0, request_.target.find('?')); }

  const Context& context_;
  const HttpServerRequest& request_;
  HttpExchange& exchange_;
  GitHttpRoute route_{};
  std::optional<Store> store_;
  std::optional<User> user_;
  std::optional<DeployKey> deploy_key_;
  std::string key_;
  std::string transport_ = "http";
  std::string push_id_;
  bool gzip_ = false;
  DrainGate::Pass drain_pass_;
  SessionLimits::Slot push_slot_;
};

bool GitHttp::Serves(const HttpServerRequest& head) { return IsGitHttpPath(head.target); }

bool GitHttp::StreamsBody(const HttpServerRequest& head) {
  return head.method == "POST" && IsGitHttpPath(head.target);
}

void GitHttp::Handle(const HttpServerRequest& request, HttpExchange& exchange) const {
  Exchange(context_, request, exchange).Run();
}

}  // namespace hephy
