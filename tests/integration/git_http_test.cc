// git over HTTP against a real `hephyd serve`, driven by the real git client
// with API tokens: clone and fetch (protocol v0 and v2), pushes that build
// both platforms with their lines streamed live, refusals, rights, the
// throttle shared with SSH, a client that hangs up, a gzip-encoded request,
// credentials refused over plain HTTP beyond loopback, and memory that stays
// flat under a large push.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "app_commits.h"
#include "build_gate.h"
#include "foreign_busybox.h"
#include "net/http_connection.h"
#include "output_watcher.h"
#include "test_ca.h"
#include "test_daemon.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

std::string TokenIn(const RunResult& created) {
  std::smatch match;
  if (!std::regex_search(created.out, match, std::regex("hephy_[0-9a-f]{64}"))) {
    ADD_FAILURE() << "no token in: " << created.out << created.err;
    return "";
  }
  return match[0];
}

// VmRSS of a process, in KiB.
long RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

class GitHttpTest : public ::testing::Test {
 protected:
  void Start(const std::string& extra_config = "", const std::string& http_config = "") {
    // network host: RUN steps may wait at a BuildGate on the host's loopback.
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  platforms: [linux/amd64, linux/arm64]\n  network: host\n" + extra_config,
        registry_.url(), "", http_config);
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    token_ = TokenIn(daemon_->Cli({"tokens", "create", "alice"}));
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  std::string Url(const std::string& app, const std::string& user = "alice",
                  const std::string& token = "") const {
    return scheme_ + "://" + user + ":" + (token.empty() ? token_ : token) +
           "@127.0.0.1:" + std::to_string(daemon_->http_port()) + "/" + app + ".git";
  }

  SpawnOptions GitOptions(const std::vector<std::string>& args,
                          const std::filesystem::path& cwd) const {
    SpawnOptions options{.argv = {"git"}, .env = daemon_->ClientEnv(), .cwd = cwd};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env->push_back("GIT_TERMINAL_PROMPT=0");  // a 401 fails rather than asks
    if (ca_) options.env->push_back("GIT_SSL_CAINFO=" + ca_->certificate().string());
    return options;
  }

  RunResult Git(const std::vector<std::string>& args, const std::filesystem::path& cwd) const {
    return hephy::Run(GitOptions(args, cwd), "", std::chrono::minutes(3));
  }

  Child GitInBackground(const std::vector<std::string>& args) const {
    SpawnOptions options = GitOptions(args, src_);
    options.pipe_stderr = true;
    return Spawn(options);
  }

  std::string CommitCopyOnlyApp(const std::string& greeting) {
    return hephy::CommitCopyOnlyApp(src_, greeting);
  }
  std::string CommitRunApp(const std::string& script) { return hephy::CommitRunApp(src_, script); }

  std::string Head() const { return GitOk(src_, {"rev-parse", "HEAD"}).substr(0, 40); }

  std::string StoredRef(const std::string& app, const std::string& ref = "refs/heads/main") {
    const RunResult r = hephy::Run({.argv = {"git", "--git-dir", daemon_->RepoPath(app).string(),
                                             "rev-parse", "-q", "--verify", ref}});
    return r.exit_code == 0 ? r.out.substr(0, 40) : "";
  }

  HttpResponse Send(const HttpRequest& request) const {
    HttpConnection connection({"127.0.0.1", daemon_->http_port()}, std::chrono::seconds(30),
                              64 << 20);
    return connection.Send(request);
  }

  std::string Basic(const std::string& user, const std::string& token) const {
    const RunResult r = hephy::Run({.argv = {"base64", "-w0"}}, user + ":" + token);
    return "Basic " + r.out;
  }

  // HTTPS with a certificate of this test CA for 127.0.0.1, which git trusts.
  TestCa::Issued ServeHttps() {
    ca_.emplace(ca_dir_.path() / "ca");
    scheme_ = "https";
    return ca_->IssueLocal("hephyd");
  }

  TestRegistry registry_;
  TestDir ca_dir_;
  std::optional<TestCa> ca_;
  std::string scheme_ = "http";
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::string token_;
  std::filesystem::path src_;
};

TEST_F(GitHttpTest, APushBuildsBothPlatformsWithTheirLinesLive) {
  ASSERT_TRUE(std::filesystem::exists(Arm64Busybox())) << "scripts/test-fixtures fetches it";
  Start();
  BuildGate gate;
  const std::string commit =
      CommitRunApp("echo waiting; /bin/busybox wget -q -O - " + gate.Url() + "; echo through");
  Child git = GitInBackground({"push", Url("web"), "main"});
  OutputWatcher output(git.stderr_fd().get());

  // Both platforms' lines reach the pusher while their builds still wait.
  EXPECT_TRUE(output.WaitFor("remote: [linux/amd64] waiting", std::chrono::minutes(3)))
      << output.Text();
  EXPECT_TRUE(output.WaitFor("remote: [linux/arm64] waiting", std::chrono::minutes(3)))
      << output.Text();
  EXPECT_EQ(StoredRef("web"), "");
  gate.Open();
  output.Join();
  ASSERT_EQ(git.Wait(), 0) << output.Text();
  EXPECT_NE(output.Text().find("remote: [linux/arm64] through"), std::string::npos)
      << output.Text();
  EXPECT_EQ(StoredRef("web"), commit);

  // The build and the audit record name alice and the transport; the
  // token is in neither, nor in hephyd's log.
  const RunResult builds = daemon_->Cli({"builds", "list", "--app", "web"});
  EXPECT_NE(builds.out.find("succeeded"), std::string::npos) << builds.out;
  EXPECT_NE(builds.out.find("alice"), std::string::npos) << builds.out;
  const RunResult audit = daemon_->Cli({"audit"});
  EXPECT_NE(
      audit.out.find("http token; refs/heads/main 0000000.." + commit.substr(0, 7) + "; accepted"),
      std::string::npos)
      << audit.out;
  EXPECT_EQ(audit.out.find(token_), std::string::npos);
  EXPECT_EQ(daemon_->Log().find(token_), std::string::npos);
  EXPECT_EQ(daemon_->Log().find(token_.substr(6, 16)), std::string::npos);
}

TEST_F(GitHttpTest, OverHttpsPushesBuildAndClonesAndSighupRereadsTheCertificate) {
  const TestCa::Issued served = ServeHttps();
  Start("", "  tls_cert: " + served.certificate.string() + "\n  tls_key: " + served.key.string() +
                "\n");
  ASSERT_TRUE(daemon_->WaitForLog("serving HTTPS with " + served.certificate.string()))
      << daemon_->Log();
  const std::string commit = CommitCopyOnlyApp("hello");
  const RunResult pushed = Git({"push", Url("web"), "main"}, src_);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_NE(pushed.err.find("remote: [linux/arm64] STEP 2/2: COPY hello.txt /hello.txt"),
            std::string::npos)
      << pushed.err;
  EXPECT_EQ(StoredRef("web"), commit);
  EXPECT_NE(daemon_->Cli({"audit"}).out.find("https token; refs/heads/main"), std::string::npos);
  const auto clone = daemon_->dir() / "clone";
  ASSERT_EQ(Git({"clone", Url("web"), clone.string()}, src_).exit_code, 0);
  EXPECT_EQ(GitOk(clone, {"rev-parse", "HEAD"}).substr(0, 40), commit);

  // Plain HTTP on the HTTPS port gets nowhere.
  const RunResult plain = Git({"ls-remote", "http://alice:" + token_ + "@127.0.0.1:" +
                                                std::to_string(daemon_->http_port()) + "/web.git"},
                              src_);
  EXPECT_NE(plain.exit_code, 0);

  // A renewed certificate in the same files is served after SIGHUP; a
  // broken one is refused and the last good one stays.
  const TestCa::Issued renewed = ca_->IssueLocal("renewed");
  std::filesystem::copy_file(renewed.certificate, served.certificate,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key, served.key,
                             std::filesystem::copy_options::overwrite_existing);
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(daemon_->WaitForLog("received SIGHUP: reread http.tls_cert and http.tls_key"))
      << daemon_->Log();
  EXPECT_TRUE(daemon_->WaitForLog("(CN=renewed, serial ")) << daemon_->Log();
  std::ofstream(served.key) << "not a key\n";
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(daemon_->WaitForLog("still serving the certificate loaded before")) << daemon_->Log();
  EXPECT_EQ(Git({"ls-remote", Url("web")}, src_).exit_code, 0);
}

TEST_F(GitHttpTest, ClonesAndFetchesWithProtocolV0AndV2AndTakesForcePushesAndTags) {
  Start();
  const std::string first = CommitCopyOnlyApp("hello");
  ASSERT_EQ(Git({"push", Url("web"), "main"}, src_).exit_code, 0);

  for (const std::string version : {"0", "2"}) {
    const auto clone = daemon_->dir() / ("clone-v" + version);
    SpawnOptions options = GitOptions(
        {"-c", "protocol.version=" + version, "clone", Url("web"), clone.string()}, src_);
    options.env->push_back("GIT_TRACE_PACKET=1");
    const RunResult r = hephy::Run(options, "", std::chrono::minutes(1));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(GitOk(clone, {"rev-parse", "HEAD"}).substr(0, 40), first);
    EXPECT_EQ(r.err.find("< version 2") != std::string::npos, version == "2") << r.err;
  }

  // A tag, then history rewritten and force-pushed: fetch sees both.
  GitOk(src_, {"tag", "v1.0"});
  ASSERT_EQ(Git({"push", Url("web"), "v1.0"}, src_).exit_code, 0);
  EXPECT_EQ(StoredRef("web", "refs/tags/v1.0"), first);
  GitOk(src_, {"commit", "--amend", "-q", "-m", "hello, amended"});
  const std::string amended = Head();
  EXPECT_NE(Git({"push", Url("web"), "main"}, src_).exit_code, 0);  // not a fast-forward
  const RunResult forced = Git({"push", "--force", Url("web"), "main"}, src_);
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(StoredRef("web"), amended);
  for (const std::string version : {"0", "2"}) {
    const auto clone = daemon_->dir() / ("clone-v" + version);
    const RunResult r =
        Git({"-c", "protocol.version=" + version, "fetch", "--tags", "--force", "origin"}, clone);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(GitOk(clone, {"rev-parse", "origin/main"}).substr(0, 40), amended);
    EXPECT_EQ(GitOk(clone, {"rev-parse", "v1.0"}).substr(0, 40), first);
  }
}

TEST_F(GitHttpTest, AFailedBuildRejectsThePushAndLeavesTheRef) {
  Start();
  const std::string good = CommitCopyOnlyApp("hello");
  ASSERT_EQ(Git({"push", Url("web"), "main"}, src_).exit_code, 0);
  CommitRunApp("echo failing on purpose; exit 3");
  const RunResult r = Git({"push", Url("web"), "main"}, src_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("remote: [linux/amd64] failing on purpose"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pre-receive hook declined"), std::string::npos) << r.err;
  EXPECT_EQ(StoredRef("web"), good);
}

TEST_F(GitHttpTest, CredentialsAndRightsDecideAndNothingIsWrittenWithoutThem) {
  Start();
  CommitCopyOnlyApp("hello");
  // Without credentials, or with wrong ones: 401 with git's Basic challenge,
  // the same for an app that exists and one that does not.
  for (const std::string app : {"web", "nothing-here"}) {
    const HttpResponse none = Send({"GET", "/" + app + ".git/info/refs?service=git-upload-pack"});
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.Header("www-authenticate"), "Basic realm=\"hephyd\"");
  }
  const std::string wrong = "hephy_" + std::string(64, '0');
  for (const auto& [user, token] : std::vector<std::pair<std::string, std::string>>{
           {"alice", wrong}, {"bob", token_}, {"alice", "not-a-token"}}) {
    const RunResult r = Git({"push", Url("web", user, token), "main"}, src_);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("Authentication failed"), std::string::npos) << r.err;
  }
  const RunResult anonymous =
      Git({"push", "http://127.0.0.1:" + std::to_string(daemon_->http_port()) + "/web.git", "main"},
          src_);
  EXPECT_NE(anonymous.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(daemon_->RepoPath("web")));

  // A member with read access fetches but may not push.
  ASSERT_EQ(Git({"push", Url("web"), "main"}, src_).exit_code, 0);
  daemon_->AddUser("bob");
  ASSERT_EQ(daemon_->Cli({"apps", "grant", "web", "bob", "read"}).exit_code, 0);
  const std::string bobs = TokenIn(daemon_->Cli({"tokens", "create", "bob"}));
  EXPECT_EQ(Git({"ls-remote", Url("web", "bob", bobs)}, src_).exit_code, 0);
  CommitCopyOnlyApp("bob was here");
  const RunResult refused = Git({"push", Url("web", "bob", bobs), "main"}, src_);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("bob may not push to app 'web' (read access)"), std::string::npos)
      << refused.err;

  // A revoked token is refused at once.
  const RunResult list = daemon_->Cli({"tokens", "list", "bob", "--json"});
  const auto id = nlohmann::json::parse(list.out).at(0).at("id").get<int64_t>();
  ASSERT_EQ(daemon_->Cli({"tokens", "revoke", std::to_string(id)}).exit_code, 0);
  const RunResult revoked = Git({"ls-remote", Url("web", "bob", bobs)}, src_);
  EXPECT_NE(revoked.exit_code, 0);
  EXPECT_NE(revoked.err.find("Authentication failed"), std::string::npos) << revoked.err;
}

TEST_F(GitHttpTest, DeployTokensAreBoundToTheirAppAndAccess) {
  Start();
  const std::string commit = CommitCopyOnlyApp("hello");
  ASSERT_EQ(Git({"push", Url("web"), "main"}, src_).exit_code, 0);
  ASSERT_EQ(Git({"push", Url("api"), "main"}, src_).exit_code, 0);
  const std::string reader = TokenIn(daemon_->Cli({"tokens", "create", "--deploy", "web"}));
  const std::string writer =
      TokenIn(daemon_->Cli({"tokens", "create", "--deploy", "web", "--write"}));

  // Any user name; its own app only, and pushing only with --write.
  EXPECT_EQ(Git({"ls-remote", Url("web", "ci", reader)}, src_).exit_code, 0);
  const RunResult other = Git({"ls-remote", Url("api", "ci", writer)}, src_);
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("no app 'api'"), std::string::npos) << other.err;
  CommitCopyOnlyApp("from CI");
  const RunResult read_only = Git({"push", Url("web", "ci", reader), "main"}, src_);
  EXPECT_NE(read_only.exit_code, 0);
  EXPECT_NE(read_only.err.find("may not push to app 'web' (read access)"), std::string::npos)
      << read_only.err;
  EXPECT_EQ(StoredRef("web"), commit);
  const RunResult pushed = Git({"push", Url("web", "ci", writer), "main"}, src_);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_EQ(StoredRef("web"), Head());

  // The build and the audit name the token, never its secret.
  const RunResult builds = daemon_->Cli({"builds", "list", "--app", "web"});
  EXPECT_NE(builds.out.find("deploy:token:"), std::string::npos) << builds.out;
  const RunResult audit = daemon_->Cli({"audit"});
  EXPECT_NE(audit.out.find("http token:"), std::string::npos) << audit.out;
  EXPECT_EQ(audit.out.find(writer), std::string::npos);
  EXPECT_EQ(daemon_->Log().find(writer), std::string::npos);
}

TEST_F(GitHttpTest, FailedAttemptsBlockTheAddressForSshToo) {
  Start("ssh:\n  auth_failures:\n    limit: 2\n    window: 1m\n    block: 1m\n");
  const std::string wrong = "hephy_" + std::string(64, '1');
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Send({"GET",
                    "/web.git/info/refs?service=git-upload-pack",
                    {{"Authorization", Basic("alice", wrong)}}})
                  .status,
              401);
  }
  // Now even the right token, and SSH, are turned away for a while.
  const HttpResponse blocked = Send({"GET",
                                     "/web.git/info/refs?service=git-upload-pack",
                                     {{"Authorization", Basic("alice", token_)}}});
  EXPECT_EQ(blocked.status, 429) << blocked.body;
  EXPECT_FALSE(blocked.Header("retry-after").empty());
  EXPECT_NE(daemon_->Ssh(alice_, "whoami").exit_code, 0);
}

TEST_F(GitHttpTest, AClientThatHangsUpCancelsTheBuild) {
  Start("builder:\n  platforms: [linux/amd64]\n");
  CommitRunApp("echo started; /bin/busybox sleep 60");
  Child git = GitInBackground({"push", Url("web"), "main"});
  OutputWatcher output(git.stderr_fd().get());
  ASSERT_TRUE(output.WaitFor("remote: [linux/amd64] started")) << output.Text();

  const auto gone = std::chrono::steady_clock::now();
  git.KillGroup(SIGKILL);
  git.Wait();
  ASSERT_TRUE(daemon_->WaitForLog("build 1 app=web unit=web")) << daemon_->Log();
  EXPECT_LT(std::chrono::steady_clock::now() - gone, std::chrono::seconds(2));
  const RunResult build = daemon_->Cli({"builds", "show", "1", "--json"});
  EXPECT_EQ(nlohmann::json::parse(build.out)["status"], "cancelled") << build.out;
  EXPECT_TRUE(daemon_->WaitForLog("git-receive-pack app=web: client disconnected"))
      << daemon_->Log();
  EXPECT_EQ(StoredRef("web"), "");
}

TEST_F(GitHttpTest, AGzipEncodedUploadPackRequestIsDecoded) {
  Start();
  const std::string commit = CommitCopyOnlyApp("hello");
  ASSERT_EQ(Git({"push", Url("web"), "main"}, src_).exit_code, 0);
  // What git sends for a fetch of one commit (protocol v0, stateless).
  const std::string request = "0032want " + commit + "\n00000009done\n";
  const RunResult gzip = hephy::Run({.argv = {"gzip", "-c"}}, request);
  ASSERT_EQ(gzip.exit_code, 0);
  const HttpResponse r = Send({"POST",
                               "/web.git/git-upload-pack",
                               {{"Authorization", Basic("alice", token_)},
                                {"Content-Type", "application/x-git-upload-pack-request"},
                                {"Content-Encoding", "gzip"}},
                               gzip.out});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/x-git-upload-pack-result");
  EXPECT_TRUE(r.body.starts_with("0008NAK\n")) << r.body.substr(0, 100);
  EXPECT_NE(r.body.find("PACK"), std::string::npos);
  // Garbage that claims to be gzip is refused, git never sees a pack.
  const HttpResponse broken = Send({"POST",
                                    "/web.git/git-upload-pack",
                                    {{"Authorization", Basic("alice", token_)},
                                     {"Content-Type", "application/x-git-upload-pack-request"},
                                     {"Content-Encoding", "gzip"}},
                                    request});
  EXPECT_EQ(broken.body.find("PACK"), std::string::npos);
}

TEST_F(GitHttpTest, TheProbeBeforeALargePushIsAnsweredEvenWhenGitEndsFirst) {
  Start();
  CommitCopyOnlyApp("hello");
  ASSERT_EQ(Git({"push", Url("web"), "main"}, src_).exit_code, 0);
  // git's probe is an empty request ("0000"), to which receive-pack says
  // nothing and exits at once, often before hephyd has seen the body end.
  for (int i = 0; i < 20; ++i) {
    const HttpResponse r = Send({"POST",
                                 "/web.git/git-receive-pack",
                                 {{"Authorization", Basic("alice", token_)},
                                  {"Content-Type", "application/x-git-receive-pack-request"}},
                                 "0000"});
    ASSERT_EQ(r.status, 200) << "attempt " << i << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/x-git-receive-pack-result");
  }
}

TEST_F(GitHttpTest, CredentialsOverPlainHttpAreRefusedBeyondLoopback) {
  Start("", "  listen: \"0.0.0.0:0\"\n");
  CommitCopyOnlyApp("hello");
  const HttpResponse r = Send({"GET",
                               "/web.git/info/refs?service=git-upload-pack",
                               {{"Authorization", Basic("alice", token_)}}});
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("credentials are taken over HTTPS only"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("http.tls_cert"), std::string::npos) << r.body;
  const RunResult push = Git({"push", Url("web"), "main"}, src_);
  EXPECT_NE(push.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(daemon_->RepoPath("web")));
}

TEST_F(GitHttpTest, BehindATrustedProxyOnlyHttpsRequestsMayBearCredentials) {
  Start("", "  trust_proxy: true\n");
  const std::string path = "/web.git/info/refs?service=git-receive-pack";
  const HttpResponse plain = Send({"GET", path, {{"Authorization", Basic("alice", token_)}}});
  EXPECT_EQ(plain.status, 403);
  EXPECT_NE(plain.body.find("http.trust_proxy"), std::string::npos) << plain.body;
  const HttpResponse https = Send(
      {"GET", path, {{"Authorization", Basic("alice", token_)}, {"X-Forwarded-Proto", "https"}}});
  EXPECT_EQ(https.status, 200) << https.body;
  EXPECT_EQ(https.Header("content-type"), "application/x-git-receive-pack-advertisement");
  EXPECT_TRUE(https.body.starts_with("001f# service=git-receive-pack\n0000")) << https.body;
}

TEST_F(GitHttpTest, ALargePushKeepsHephydsMemoryFlat) {
  Start();
  // 192 MiB that do not compress, on a branch that does not build.
  {
    std::ofstream blob(src_ / "blob.bin", std::ios::binary);
    std::mt19937_64 random(42);
    std::vector<uint64_t> block(1 << 17);  // 1 MiB
    for (int mib = 0; mib < 192; ++mib) {
      for (auto& word : block) word = random();
      blob.write(reinterpret_cast<const char*>(block.data()), block.size() * sizeof(uint64_t));
    }
  }
  GitOk(src_, {"add", "blob.bin"});
  CommitFile(src_, "README", "big\n", "a big blob");
  const long before = RssKiB(daemon_->pid());
  ASSERT_GT(before, 0);
  Child git = GitInBackground({"push", Url("web"), "main:big"});
  OutputWatcher output(git.stderr_fd().get());
  // Sampled every 20 ms until git has finished.
  long peak = before;
  std::optional<int> exit_code;
  while (!(exit_code = git.TryWait())) {
    peak = std::max(peak, RssKiB(daemon_->pid()));
    output.WaitFor("(never printed)", std::chrono::milliseconds(20));
  }
  output.Join();
  ASSERT_EQ(*exit_code, 0) << output.Text() << daemon_->Log();
  EXPECT_EQ(StoredRef("web", "refs/heads/big"), Head());
  // The pack streamed through in bounded buffers: a few MiB, not 192.
  EXPECT_LT(peak - before, 16 * 1024) << "RSS before " << before << " KiB, peak " << peak << " KiB";
}

}  // namespace
}  // namespace hephy
