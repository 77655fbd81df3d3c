#include "git/hook_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

#include "hephy/error.h"
#include "hephy/hook_protocol.h"
#include "util/logging.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("hook");
  return logger;
}

bool IsObjectId(const std::string& id) {
  return id.size() == 40 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

PushRequest ParsePushRequest(const std::vector<std::string>& packets) {
  PushRequest request;
  for (const auto& packet : packets) {
    const auto space = packet.find(' ');
    const std::string field = packet.substr(0, space);
    const std::string value = space == std::string::npos ? "" : packet.substr(space + 1);
    if (field == "app") {
      request.app = value;
    } else if (field == "user") {
      request.user = value;
    } else if (field == "key") {
      request.key_fingerprint = value;
    } else if (field == "push-id") {
      request.push_id = value;
    } else if (field == "env") {
      const auto equals = value.find('=');
      if (equals == std::string::npos) throw Error("hook request: malformed env '" + value + "'");
      request.env[value.substr(0, equals)] = value.substr(equals + 1);
    } else if (field == "option") {
      request.options.push_back(value);
    } else if (field == "trigger") {
      if (value != "push" && value != "manual" && value != "prune") {
        throw Error("hook request: unknown trigger '" + value + "'");
      }
      request.trigger = value;
    } else if (field == "unit") {
      request.units.push_back(value);
    } else if (field == "update") {
      std::istringstream words(value);
      RefUpdate update;
      words >> update.old_id >> update.new_id >> update.ref;
      if (!IsObjectId(update.old_id) || !IsObjectId(update.new_id) || update.ref.empty()) {
        throw Error("hook request: malformed ref update '" + value + "'");
      }
      request.updates.push_back(update);
    } else {
      throw Error("hook request: unknown field '" + field + "'");
    }
  }
  return request;
}

HookServer::HookServer(PushHandler handler)
    : handler_(std::move(handler)), stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

HookServer::~HookServer() {
  if (listener_) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
}

void HookServer::Listen(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof address.sun_path) {
    throw Error(path.string() + ": hook socket path too long (data_dir is too deep)");
  }
  std::memcpy(address.sun_path, path.c_str(), path.string().size() + 1);
  listener_.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // A socket file left by a hephyd that did not stop cleanly.
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (!listener_ || bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) ||
      chmod(path.c_str(), 0600) != 0 || listen(listener_.get(), 64) != 0) {
    throw Error(path.string() + ": cannot listen for hooks: " + std::strerror(errno));
  }
  path_ = path;
}

void HookServer::Run() {
  pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      throw Error(std::string("hook service: poll: ") + std::strerror(errno));
    }
    if (fds[1].revents != 0) break;
    if (fds[0].revents == 0) continue;
    const int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_.Start([this, fd] {
      Serve(fd);
      close(fd);
    });
  }
  connections_.Wait();
}

void HookServer::Stop() {
  const uint64_t one = 1;
  [[maybe_unused]] const auto n = write(stop_fd_.get(), &one, sizeof one);
}

void HookServer::Serve(int fd) {
  PushRequest request;
  try {
    hook::PacketReader reader(fd);
    std::vector<std::string> packets;
    while (auto packet = reader.Next()) packets.push_back(std::move(*packet));
    request = ParsePushRequest(packets);
  } catch (const std::exception& e) {
    Log()->error("bad request from hephy-hook: {}", e.what());
    hook::WriteAll(fd, hook::Packet("line hephy: internal error: " + std::string(e.what())) +
                           hook::Packet("status 1"));
    return;
  }
  const std::function<void(const std::string&)> say = [fd](const std::string& line) {
    hook::WriteAll(fd, hook::Packet("line " + line));
  };
  // The hook sends nothing after its request, so the socket turning
  // readable means it is gone: git was killed because the pusher left.
  std::stop_source hangup;
  UniqueFd handled(eventfd(0, EFD_CLOEXEC));
  std::thread watcher([&] {
    pollfd fds[2] = {{fd, POLLIN | POLLRDHUP, 0}, {handled.get(), POLLIN, 0}};
    while (poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    if (fds[1].revents == 0) {
      Log()->info("push {} app={}: hephy-hook hung up", request.push_id, request.app);
      hangup.request_stop();
    }
  });
  const int status = handler_(request, say, hangup.get_token());
  const uint64_t one = 1;
  [[maybe_unused]] const auto n = write(handled.get(), &one, sizeof one);
  watcher.join();
  hook::WriteAll(fd, hook::Packet("status " + std::to_string(status)));
}

}  // namespace hephy
