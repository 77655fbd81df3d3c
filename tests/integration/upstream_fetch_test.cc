// UpstreamCache fetching over the network, from real servers on loopback:
// git daemon (git://), git http-backend behind an HTTP(S) server that wants
// a token, and hephyd itself over ssh.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "error_of.h"
#include "fixtures.h"
#include "git/libgit2.h"
#include "git_daemon.h"
#include "git_http_server.h"
#include "test_daemon.h"
#include "upstream/upstream_cache.h"

namespace hephy {
namespace {

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

void WriteFile(const std::filesystem::path& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

// An upstream repository: a work tree with a tag v1 on main, and its bare
// copy srv/up.git that the servers serve.
class UpstreamFetchTest : public ::testing::Test {
 protected:
  UpstreamFetchTest() {
    MakeRepo(work_);
    CommitFile(work_, "README", "v1\n", "first");
    GitOk(work_, {"tag", "-a", "v1", "-m", "release 1"});
    tagged_ = Trim(GitOk(work_, {"rev-parse", "v1^{commit}"}));
    std::filesystem::create_directories(srv_);
    GitOk(dir_.path(), {"clone", "-q", "--bare", work_.string(), (srv_ / "up.git").string()});
  }

  // A new commit on main, pushed to srv/up.git; its id.
  std::string CommitUpstream(const std::string& message) {
    CommitFile(work_, "README", message + "\n", message);
    GitOk(work_, {"push", "-q", (srv_ / "up.git").string(), "main"});
    return Trim(GitOk(work_, {"rev-parse", "HEAD"}));
  }

  UpstreamCache& Cache() {
    if (!cache_) cache_ = std::make_unique<UpstreamCache>(dir_.path() / "upstreams", config_);
    return *cache_;
  }

  std::string Resolve(const std::string& url, const std::string& ref) {
    return Cache().Resolve(url, ref, {}).commit;
  }

  // upstreams.ssh_key: a new key without a passphrase.
  void UseNewSshKey() {
    config_.ssh_key = dir_.path() / "id_ed25519";
    const RunResult r = hephy::Run(
        {.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", config_.ssh_key.string()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  TestDir dir_;
  std::filesystem::path work_ = dir_.path() / "work";
  std::filesystem::path srv_ = dir_.path() / "srv";
  std::string tagged_;
  // The servers are on loopback, which upstreams reach only when allowed.
  UpstreamsConfig config_{.credentials_file = dir_.path() / "upstream-credentials",
                          .allow_hosts = {"127.0.0.0/8", "::1"}};
  std::unique_ptr<UpstreamCache> cache_;
};

TEST_F(UpstreamFetchTest, FetchesOverGitProtocol) {
  const GitDaemon daemon(srv_);
  EXPECT_EQ(Resolve(daemon.Url("up.git"), "v1"), tagged_);
  const std::string next = CommitUpstream("second");
  EXPECT_EQ(Resolve(daemon.Url("up.git"), "main"), next);
}

// A server that takes connections and never answers: the kernel queues
// them on a listening socket nobody accepts from.
class SilentServer {
 public:
  SilentServer() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    socklen_t length = sizeof address;
    if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(fd_.get(), 16) != 0 ||
        getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/up.git"; }
  std::string SshUrl() const { return "ssh://git@127.0.0.1:" + std::to_string(port_) + "/up.git"; }
  // Until a client has connected (and waits for an answer).
  bool WaitForClient() const {
    pollfd pending{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    return poll(&pending, 1, 30000) == 1;
  }

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
};

TEST_F(UpstreamFetchTest, AServerThatStopsAnsweringFailsTheFetchNamingItAndHoldsUpNoOther) {
  config_.timeout = std::chrono::seconds(3);
  const SilentServer silent;
  const GitDaemon daemon(srv_);
  std::atomic<bool> hung_ended = false;
  std::string hung_error;
  std::thread hung([&] {
    hung_error = ErrorOf([&] { Resolve(silent.Url(), "main"); });
    hung_ended = true;
  });
  ASSERT_TRUE(silent.WaitForClient());
  // Another URL is fetched while that one hangs.
  EXPECT_EQ(Resolve(daemon.Url("up.git"), "v1"), tagged_);
  EXPECT_FALSE(hung_ended);
  hung.join();
  EXPECT_NE(hung_error.find("127.0.0.1 did not answer for 3s (upstreams.timeout)"),
            std::string::npos)
      << hung_error;
}

TEST_F(UpstreamFetchTest, ACancelEndsAFetchThatWaitsForItsServer) {
  const SilentServer silent;  // upstreams.timeout: the default, 60 s
  std::stop_source pusher;
  std::string error;
  std::thread fetch([&] {
    error = ErrorOf([&] { Cache().Resolve(silent.Url(), "main", {}, pusher.get_token()); });
  });
  ASSERT_TRUE(silent.WaitForClient());
  const auto asked = std::chrono::steady_clock::now();
  pusher.request_stop();
  fetch.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(10));
  EXPECT_NE(error.find("cancelled"), std::string::npos) << error;
}

// libssh2 reads the socket itself; a watchdog bounds it all the same.
TEST_F(UpstreamFetchTest, AnSshServerThatStopsAnsweringFailsTheFetchNamingIt) {
  config_.timeout = std::chrono::seconds(2);
  UseNewSshKey();
  const SilentServer silent;
  const std::string error = ErrorOf([&] { Resolve(silent.SshUrl(), "main"); });
  EXPECT_NE(error.find("cannot fetch 'main': 127.0.0.1 did not answer for 2s (upstreams.timeout)"),
            std::string::npos)
      << error;
}

TEST_F(UpstreamFetchTest, ACancelEndsAnSshFetchThatWaitsForItsServer) {
  UseNewSshKey();
  const SilentServer silent;  // upstreams.timeout: the default, 60 s
  std::stop_source pusher;
  std::string error;
  std::thread fetch([&] {
    error = ErrorOf([&] { Cache().Resolve(silent.SshUrl(), "main", {}, pusher.get_token()); });
  });
  ASSERT_TRUE(silent.WaitForClient());
  const auto asked = std::chrono::steady_clock::now();
  pusher.request_stop();
  fetch.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(10));
  EXPECT_NE(error.find("the fetch from 127.0.0.1 was cancelled"), std::string::npos) << error;
}

// HTTP(S) with a token: git http-backend behind GitHttpServer.
class HttpUpstreamTest : public UpstreamFetchTest {
 protected:
  // A server with a certificate libgit2 trusts, for this test.
  std::unique_ptr<GitHttpServer> TrustedServer(bool tls) {
    auto server = std::make_unique<GitHttpServer>(srv_, "t0ken", tls, dir_.path());
    if (tls) {
      git::Init();
      EXPECT_EQ(
          git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, server->certificate().c_str(), nullptr),
          0);
    }
    return server;
  }

  // "localhost:PORT" of `url`.
  static std::string Authority(const std::string& url) {
    const auto start = url.find("://") + 3;
    return url.substr(start, url.find('/', start) - start);
  }
};

TEST_F(HttpUpstreamTest, HttpsWithTheTokenFromTheCredentialsFile) {
  const auto server = TrustedServer(true);
  const std::string url = server->Url("up.git");
  WriteFile(config_.credentials_file, "https://other:nope@example.invalid\nhttps://alice:t0ken@" +
                                          Authority(url) + "/up.git\n");
  EXPECT_EQ(Resolve(url, "v1"), tagged_);
  // Credentials only once the server asked for them.
  const auto seen = server->Credentials();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front(), "");
  EXPECT_EQ(seen.back(), "alice:t0ken");
  EXPECT_GE(server->Served(), 2);
}

TEST_F(HttpUpstreamTest, HttpsWithTheTokenFromTokenEnv) {
  const auto server = TrustedServer(true);
  config_.token_env = "HEPHY_TEST_UPSTREAM_TOKEN";
  config_.token_hosts = {"LocalHost"};
  setenv("HEPHY_TEST_UPSTREAM_TOKEN", "t0ken", 1);
  EXPECT_EQ(Resolve(server->Url("up.git"), "v1"), tagged_);
  unsetenv("HEPHY_TEST_UPSTREAM_TOKEN");
  EXPECT_EQ(server->Credentials().back(), "x-access-token:t0ken");
}

TEST_F(HttpUpstreamTest, WrongTokenIsOfferedOnceAndNotShown) {
  const auto server = TrustedServer(true);
  const std::string url = server->Url("up.git");
  WriteFile(config_.credentials_file, "https://alice:wr0ng@" + Authority(url) + "\n");
  const std::string error = ErrorOf([&] { Resolve(url, "v1"); });
  EXPECT_EQ(error, url + ": cannot fetch 'v1': " + Authority(url) +
                       " refused the credentials from " + config_.credentials_file.string() + ":1");
  EXPECT_EQ(error.find("wr0ng"), std::string::npos);
  const auto seen = server->Credentials();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "alice:wr0ng"), 1) << seen.size();
  EXPECT_EQ(server->Served(), 0);
}

TEST_F(HttpUpstreamTest, NoCredentialsIsAnError) {
  const auto server = TrustedServer(true);
  const std::string url = server->Url("up.git");
  config_.token_env = "HEPHY_TEST_UPSTREAM_TOKEN";
  config_.token_hosts = {"localhost"};
  unsetenv("HEPHY_TEST_UPSTREAM_TOKEN");
  EXPECT_EQ(ErrorOf([&] { Resolve(url, "v1"); }),
            url + ": cannot fetch 'v1': " + Authority(url) +
                " asks for credentials and there are none for " + url + " in " +
                config_.credentials_file.string() + " nor in $HEPHY_TEST_UPSTREAM_TOKEN");
}

TEST_F(HttpUpstreamTest, UntrustedCertificateIsRefused) {
  const auto trusted = TrustedServer(true);
  // Another self-signed certificate for the same name, that nobody trusts.
  const TestDir other_dir;
  GitHttpServer untrusted(srv_, "t0ken", true, other_dir.path());
  const std::string url = untrusted.Url("up.git");
  WriteFile(config_.credentials_file, "https://alice:t0ken@" + Authority(url) + "\n");
  const std::string error = ErrorOf([&] { Resolve(url, "v1"); });
  EXPECT_TRUE(error.starts_with(url + ": cannot fetch 'v1': ")) << error;
  EXPECT_NE(error.find("certificate"), std::string::npos) << error;
  // Refused in the TLS handshake: not one request, so no token, reached it.
  EXPECT_TRUE(untrusted.Credentials().empty());
}

// The token goes to the https hosts of token_hosts alone: not to another
// host a build-config.yaml names, not over plain HTTP to a listed one.
TEST_F(HttpUpstreamTest, TheTokenGoesOnlyToTokenHosts) {
  const auto server = TrustedServer(true);
  const std::string url = server->Url("up.git");
  config_.token_env = "HEPHY_TEST_UPSTREAM_TOKEN";
  config_.token_hosts = {"git.example"};
  setenv("HEPHY_TEST_UPSTREAM_TOKEN", "t0ken", 1);
  EXPECT_EQ(ErrorOf([&] { Resolve(url, "v1"); }),
            url + ": cannot fetch 'v1': " + Authority(url) +
                " asks for credentials and there are none for " + url + " in " +
                config_.credentials_file.string() +
                " ($HEPHY_TEST_UPSTREAM_TOKEN goes only to https hosts of upstreams.token_hosts)");
  unsetenv("HEPHY_TEST_UPSTREAM_TOKEN");
  ASSERT_FALSE(server->Credentials().empty());
  for (const auto& seen : server->Credentials()) EXPECT_EQ(seen, "");
}

TEST_F(HttpUpstreamTest, PlainHttpUsesTheFileButNeverTokenEnv) {
  const auto server = TrustedServer(false);
  const std::string url = server->Url("up.git");
  config_.token_env = "HEPHY_TEST_UPSTREAM_TOKEN";
  config_.token_hosts = {"localhost"};
  setenv("HEPHY_TEST_UPSTREAM_TOKEN", "t0ken", 1);
  EXPECT_EQ(ErrorOf([&] { Resolve(url, "v1"); }),
            url + ": cannot fetch 'v1': " + Authority(url) +
                " asks for credentials and there are none for " + url + " in " +
                config_.credentials_file.string() +
                " ($HEPHY_TEST_UPSTREAM_TOKEN goes only to https hosts of upstreams.token_hosts)");
  unsetenv("HEPHY_TEST_UPSTREAM_TOKEN");
  for (const auto& seen : server->Credentials()) EXPECT_EQ(seen, "");

  WriteFile(config_.credentials_file, "http://alice:t0ken@" + Authority(url) + "\n");
  EXPECT_EQ(Resolve(url, "v1"), tagged_);
}

// ssh: hephyd serves git-upload-pack to a user with a key.
class SshUpstreamTest : public UpstreamFetchTest {
 protected:
  void SetUp() override {
    alice_ = daemon_.AddUser("alice");
    daemon_.Start();
    // Not a build branch: stored without a build.
    const RunResult r =
        daemon_.Git(alice_, {"push", daemon_.Url("up.git"), "main:refs/heads/src", "v1"}, work_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    url_ = daemon_.Url("up.git");
    config_.ssh_key = alice_.private_key;
    config_.known_hosts = dir_.path() / "known_hosts";
  }

  // The daemon's host keys as ssh-keyscan reports them, hashed or not.
  std::string KeyScan(bool hashed) {
    std::vector<std::string> argv = {"ssh-keyscan", "-p", std::to_string(daemon_.port())};
    if (hashed) argv.push_back("-H");
    argv.push_back("127.0.0.1");
    const RunResult r = hephy::Run({.argv = argv});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("ssh-ed25519"), std::string::npos) << r.out;
    return r.out;
  }

  std::string HostName() const { return "[127.0.0.1]:" + std::to_string(daemon_.port()); }

  // libgit2 fetches over libssh2, which before 1.11 (Debian 12 has 1.10)
  // has only the MACs ssh.macs leaves out by default.
  TestDaemon daemon_{"  macs: +hmac-sha2-256,hmac-sha2-512\n"};
  TestKey alice_;
  std::string url_;
};

TEST_F(SshUpstreamTest, FetchesWithTheKeyWhenTheHostKeyIsKnown) {
  WriteFile(config_.known_hosts, KeyScan(false));
  EXPECT_EQ(Resolve(url_, "v1"), tagged_);
  EXPECT_EQ(Resolve(url_, "src"), tagged_);

  // Hashed names, as OpenSSH writes them by default on Debian; a new cache
  // so that it fetches again.
  WriteFile(config_.known_hosts, KeyScan(true));
  ASSERT_EQ(std::ifstream(config_.known_hosts).get(), '|');
  UpstreamCache fresh(dir_.path() / "fresh", config_);
  EXPECT_EQ(fresh.Resolve(url_, "v1", {}).commit, tagged_);
}

// What libssh2 1.10 meets with the default ssh.macs, and what hephyd logs.
TEST(SshUpstreamDefaults, LibSsh2BeforeEtmIsToldHowToConnect) {
  TestDir dir;
  TestDaemon daemon;
  const TestKey alice = daemon.AddUser("alice");
  daemon.Start();
  UpstreamsConfig config{.credentials_file = dir.path() / "none",
                         .ssh_key = alice.private_key,
                         .allow_hosts = {"127.0.0.1"}};
  UpstreamCache cache(dir.path() / "upstreams", config);
  const std::string error = ErrorOf([&] { cache.Resolve(daemon.Url("up.git"), "main", {}); });
  EXPECT_NE(error.find("Unable to exchange encryption keys"), std::string::npos) << error;
  EXPECT_TRUE(daemon.WaitForLog("connects with ssh.macs: +hmac-sha2-256,hmac-sha2-512"))
      << daemon.Log();
}

TEST_F(SshUpstreamTest, UnknownHostKeyIsRefused) {
  WriteFile(config_.known_hosts, "");
  const std::string error = ErrorOf([&] { Resolve(url_, "v1"); });
  EXPECT_TRUE(error.starts_with(url_ + ": cannot fetch 'v1': ssh host key of " + HostName() +
                                " is not in " + config_.known_hosts.string() +
                                " (the server offered "))
      << error;
}

TEST_F(SshUpstreamTest, ChangedHostKeyIsRefused) {
  // Another key for the host, as after a server was replaced or spoofed.
  WriteFile(config_.known_hosts,
            HostName() + " " + Trim(std::string(KeyFixture("ed25519.pub"))) + "\n");
  const std::string error = ErrorOf([&] { Resolve(url_, "v1"); });
  EXPECT_TRUE(error.starts_with(url_ + ": cannot fetch 'v1': ssh host key of " + HostName() +
                                " does not match " + config_.known_hosts.string()))
      << error;
}

TEST_F(SshUpstreamTest, RefusedKeyIsOfferedOnce) {
  WriteFile(config_.known_hosts, KeyScan(false));
  config_.ssh_key = daemon_.NewKey("mallory").private_key;
  EXPECT_EQ(ErrorOf([&] { Resolve(url_, "v1"); }),
            url_ + ": cannot fetch 'v1': 127.0.0.1:" + std::to_string(daemon_.port()) +
                " refused the ssh key " + config_.ssh_key.string());
}

TEST_F(SshUpstreamTest, MissingSshKeyIsAnError) {
  WriteFile(config_.known_hosts, KeyScan(false));
  config_.ssh_key.clear();
  EXPECT_EQ(ErrorOf([&] { Resolve(url_, "v1"); }),
            url_ + ": cannot fetch 'v1': 127.0.0.1:" + std::to_string(daemon_.port()) +
                " asks for an ssh key and upstreams.ssh_key is not set");
}

}  // namespace
}  // namespace hephy
