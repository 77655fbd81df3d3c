// Upstreams are fetched from public addresses only, unless
// upstreams.allow_hosts says otherwise: every spelling of a loopback
// address is refused before any connection, and the address a fetch
// connects to is the one that was checked. Listeners and servers on
// loopback only; names resolve through a test resolver where the test needs
// them to.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

#include "error_of.h"
#include "fixtures.h"
#include "git_daemon.h"
#include "test_daemon.h"
#include "test_dir.h"
#include "upstream/upstream_cache.h"

namespace hephy {
namespace {

// A TCP listener that never accepts: a connection that reaches it waits in
// its backlog, where Reached() finds it.
class Listener {
 public:
  explicit Listener(const std::string& address) {
    const SocketAddress bound = SocketAddress::Parse(address);
    fd_ = socket(bound.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_storage storage = bound.storage;
    socklen_t length = bound.length;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0 || listen(fd_, 16) != 0) {
      throw std::runtime_error("cannot listen on " + address);
    }
    getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length);
    port_ = ntohs(bound.family() == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  ~Listener() { close(fd_); }
  uint16_t port() const { return port_; }
  bool Reached() const {
    const int fd = accept(fd_, nullptr, nullptr);
    if (fd >= 0) close(fd);
    return fd >= 0;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class UpstreamEgressTest : public ::testing::Test {
 protected:
  std::string Refusal(const std::string& url,
                      EgressPolicy::Resolver resolver = EgressPolicy::SystemResolver) {
    UpstreamCache cache(dir_.path() / "upstreams", config_, std::move(resolver));
    return ErrorOf([&] { cache.Resolve(url, "main", {}); });
  }

  // srv/up.git, a repository with one commit on main; the directory a
  // GitDaemon serves.
  std::filesystem::path ServedUpstream() {
    MakeRepo(dir_.path() / "work");
    CommitFile(dir_.path() / "work", "README", "v1\n", "first");
    std::filesystem::create_directories(dir_.path() / "srv");
    GitOk(dir_.path(), {"clone", "-q", "--bare", (dir_.path() / "work").string(),
                        (dir_.path() / "srv" / "up.git").string()});
    return dir_.path() / "srv";
  }

  TestDir dir_;
  UpstreamsConfig config_{.credentials_file = dir_.path() / "upstream-credentials"};
};

constexpr char kOnlyPublic[] =
    "; hephyd fetches only public addresses unless upstreams.allow_hosts lists the host";

TEST_F(UpstreamEgressTest, EverySpellingOfLoopbackIsRefusedBeforeConnecting) {
  const Listener v4("127.0.0.1");
  const std::string port = std::to_string(v4.port());
  const struct {
    std::string url, host, address;
  } cases[] = {
      {"http://127.0.0.1:" + port + "/x.git", "127.0.0.1", "127.0.0.1"},
      {"http://localhost:" + port + "/x.git", "localhost", ""},
      {"http://0177.0.0.1:" + port + "/x.git", "0177.0.0.1", "127.0.0.1"},
      {"http://2130706433:" + port + "/x.git", "2130706433", "127.0.0.1"},
      {"http://0x7f.1:" + port + "/x.git", "0x7f.1", "127.0.0.1"},
      {"http://[::ffff:127.0.0.1]:" + port + "/x.git", "::ffff:127.0.0.1", "::ffff:127.0.0.1"},
      {"git://127.0.0.1:" + port + "/x.git", "127.0.0.1", "127.0.0.1"},
      {"https://127.1:" + port + "/x.git", "127.1", "127.0.0.1"},
      {"ssh://git@127.0.0.1:" + port + "/x.git", "127.0.0.1", "127.0.0.1"},
      {"git@127.0.0.1:x.git", "127.0.0.1", "127.0.0.1"},
  };
  for (const auto& c : cases) {
    const std::string error = Refusal(c.url);
    EXPECT_TRUE(error.starts_with(c.host + " resolves to " + c.address)) << c.url << ": " << error;
    EXPECT_NE(error.find("(loopback)" + std::string(kOnlyPublic)), std::string::npos)
        << c.url << ": " << error;
  }
  // Trailing dots and zone ids: refused as loopback, or as names that do not
  // resolve; never connected to.
  for (const std::string& url :
       {"http://127.0.0.1.:" + port + "/x.git", "http://localhost.:" + port + "/x.git",
        "http://[fe80::1%25lo]:" + port + "/x.git", "http://[::1%25lo]:" + port + "/x.git"}) {
    EXPECT_NE(Refusal(url), "") << url;
  }
  EXPECT_FALSE(v4.Reached());

  const Listener v6("::1");
  const std::string error = Refusal("http://[::1]:" + std::to_string(v6.port()) + "/x.git");
  EXPECT_EQ(error, "::1 resolves to ::1 (loopback)" + std::string(kOnlyPublic));
  EXPECT_FALSE(v6.Reached());
}

TEST_F(UpstreamEgressTest, OtherAddressesThatAreNotPublicAreRefusedToo) {
  // Refused by their address alone: nothing is connected to.
  const struct {
    std::string host, kind;
  } cases[] = {
      {"0.0.0.0", "unspecified"}, {"169.254.169.254", "link-local"},   {"10.1.2.3", "private"},
      {"192.168.0.1", "private"}, {"100.64.0.1", "carrier-grade NAT"}, {"[fe80::1]", "link-local"},
      {"[fd00::1]", "private"},   {"[::ffff:10.0.0.1]", "private"},
  };
  for (const auto& c : cases) {
    const std::string error = Refusal("https://" + c.host + "/x.git");
    EXPECT_NE(error.find("(" + c.kind + ")" + std::string(kOnlyPublic)), std::string::npos)
        << c.host << ": " << error;
  }
}

TEST_F(UpstreamEgressTest, AllowHostsLetsAnInternalServerThrough) {
  const GitDaemon daemon(ServedUpstream());
  EXPECT_NE(Refusal(daemon.Url("up.git")).find("(loopback)"), std::string::npos);

  for (const std::vector<std::string>& allow :
       {std::vector<std::string>{"127.0.0.1"}, {"127.0.0.0/8"}, {"::ffff:127.0.0.0/104"}}) {
    config_.allow_hosts = allow;
    UpstreamCache cache(dir_.path() / ("upstreams-" + std::to_string(allow.front().size())),
                        config_);
    EXPECT_EQ(cache.Resolve(daemon.Url("up.git"), "main", {}).commit.size(), 40u) << allow.front();
  }
}

// The fetch connects to the addresses the policy resolved, never to what
// libgit2 would resolve itself: a name only the test's resolver knows
// fetches, from the address it says.
TEST_F(UpstreamEgressTest, TheFetchConnectsToTheAddressThatWasChecked) {
  const GitDaemon daemon(ServedUpstream());
  config_.allow_hosts = {"git.hephy.test"};
  UpstreamCache cache(dir_.path() / "upstreams", config_,
                      [](const std::string& host, const std::string& port) {
                        if (host != "git.hephy.test") throw Error("unknown host " + host);
                        return std::vector{SocketAddress::Parse("127.0.0.1", std::stoi(port))};
                      });
  const std::string url = daemon.Url("up.git");
  EXPECT_EQ(
      cache.Resolve("git://git.hephy.test" + url.substr(url.rfind(':')), "main", {}).commit.size(),
      40u);
}

// A name that resolves to an allowed address when checked and to loopback
// when connected to (DNS rebinding) is refused at the connection.
TEST_F(UpstreamEgressTest, ANameThatChangesItsAddressIsRefusedAtTheConnection) {
  const Listener loopback("127.0.0.1");
  config_.allow_hosts = {"127.0.0.2/32"};
  std::atomic<int> lookups = 0;
  const std::string error =
      Refusal("git://rebind.hephy.test:" + std::to_string(loopback.port()) + "/x.git",
              [&](const std::string&, const std::string& port) {
                return std::vector{SocketAddress::Parse(++lookups == 1 ? "127.0.0.2" : "127.0.0.1",
                                                        std::stoi(port))};
              });
  EXPECT_GE(lookups, 2);
  EXPECT_NE(error.find("rebind.hephy.test resolves to 127.0.0.1 (loopback)"), std::string::npos)
      << error;
  EXPECT_FALSE(loopback.Reached());
}

}  // namespace
}  // namespace hephy
