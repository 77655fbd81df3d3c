// Pushing to registries that want credentials, end to end: real git over
// real ssh to a real hephyd, real buildah, real docker-registry instances
// with htpasswd (over TLS) and with token authentication (a token issuer the
// test runs), a fault-injecting proxy in front of a registry, and skopeo
// reading back what hephyd pushed.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "auth_registries.h"
#include "build/image_tags.h"
#include "fault_proxy.h"
#include "hephy/registry_client.h"
#include "processes.h"
#include "test_daemon.h"
#include "test_registry.h"
#include "util/base64.h"

namespace hephy {
namespace {

using nlohmann::json;

constexpr char kUser[] = "ci-pusher";
constexpr char kPassword[] = "Pw-7f3a9c1e-never-shown";

std::string AuthsFor(const std::string& registry, const std::string& user,
                     const std::string& password) {
  return json{{"auths", {{registry, {{"auth", Base64Encode(user + ":" + password)}}}}}}.dump();
}

// Watches every process's command line while it lives: whether one ever held
// `secret`, and how many buildah commands of the daemon it saw.
class ArgvWatch {
 public:
  ArgvWatch(std::string secret, std::string data_dir)
      : secret_(std::move(secret)), data_dir_(std::move(data_dir)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        if (!ProcessesMatching(secret_).empty()) leaked_ = true;
        for (const pid_t pid : ProcessesMatching(data_dir_ + "/builds/")) buildah_pids_.insert(pid);
        std::this_thread::yield();
      }
    });
  }
  ~ArgvWatch() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool leaked() const { return leaked_; }
  size_t buildah_seen() const { return buildah_pids_.size(); }

 private:
  std::string secret_;
  std::string data_dir_;
  std::atomic<bool> stop_ = false;
  std::atomic<bool> leaked_ = false;
  std::set<pid_t> buildah_pids_;  // the watching thread's until Stop()
  std::thread thread_;
};

// Every file under `dir` that holds `needle`, as raw bytes.
std::vector<std::string> FilesHolding(const std::filesystem::path& dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    if (bytes.find(needle) != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

class RegistryAuthTest : public ::testing::Test {
 protected:
  // hephyd pushing to `url`, its docker config holding `docker_config`.
  void Start(const std::string& url, const std::string& registry_config,
             const std::string& docker_config,
             const std::string& extra_config = "builder:\n  platforms: [linux/amd64]\n") {
    daemon_ = std::make_unique<TestDaemon>(extra_config, url, registry_config);
    std::ofstream(daemon_->dir() / "docker-config.json") << docker_config;
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    // COPY only, so it builds for every platform without qemu.
    std::ofstream(src_ / "hello.txt") << "hello, registry\n";
    GitOk(src_, {"add", "hello.txt"});
    CommitFile(src_, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello");
    commit_ = GitOk(src_, {"rev-parse", "HEAD"}).substr(0, 40);
  }

  RunResult Push() { return daemon_->Git(alice_, {"push", daemon_->Url("web.git"), "main"}, src_); }

  std::string StoredMain() {
    return GitOk(daemon_->RepoPath("web"),
                 {"for-each-ref", "--format=%(objectname)", "refs/heads/main"});
  }

  std::string DefaultTag() const {
    return TagsFor("web", commit_, std::chrono::system_clock::now(), {}).default_tag;
  }

  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
  std::string commit_;
};

TEST_F(RegistryAuthTest, BasicAuthOverTlsPushesAndThePasswordShowsNowhere) {
  BasicAuthTestRegistry registry(kUser, kPassword);
  Start(registry.url(), "  insecure: false\n  ca_file: \"" + registry.ca_file().string() + "\"\n",
        AuthsFor(registry.url(), kUser, kPassword), "");
  ArgvWatch argv(kPassword, daemon_->data_dir().string());
  const RunResult r = Push();
  argv.Stop();
  ASSERT_EQ(r.exit_code, 0) << r.err;

  RegistryClient client(
      RegistryClientOptions{.url = registry.url(),
                            .ca_file = registry.ca_file(),
                            .credentials = RegistryCredentials{kUser, kPassword}});
  const auto index = client.GetManifest("web", DefaultTag());
  EXPECT_EQ(index.media_type, kOciIndex);
  EXPECT_EQ(json::parse(index.body)["manifests"].size(), 2u);
  EXPECT_EQ(client.HeadManifest("web", "web-latest"), index.digest);
  // Nor in the images: their configs hold the history and labels.
  // Named: a range-for over a member of a temporary reads freed memory.
  const json parsed = json::parse(index.body);
  for (const auto& child : parsed["manifests"]) {
    const auto manifest = json::parse(client.GetManifest("web", child["digest"]).body);
    const std::string config = client.GetBlob("web", manifest["config"]["digest"]);
    EXPECT_EQ(config.find(kPassword), std::string::npos) << config;
  }

  // Neither the password nor the auth field made of it: not in any
  // process's argv while the push ran, not in what the pusher saw, not in
  // hephyd's log, and not in any file hephyd keeps (database, build logs,
  // repositories; the jobs' auth files are gone).
  EXPECT_GT(argv.buildah_seen(), 0u) << "the watch saw no buildah: it proves nothing";
  EXPECT_FALSE(argv.leaked());
  const std::string auth = Base64Encode(std::string(kUser) + ":" + kPassword);
  for (const std::string& secret : {std::string(kPassword), auth}) {
    EXPECT_EQ(r.out.find(secret), std::string::npos);
    EXPECT_EQ(r.err.find(secret), std::string::npos);
    EXPECT_EQ(daemon_->Log().find(secret), std::string::npos);
    EXPECT_EQ(FilesHolding(daemon_->data_dir(), secret), std::vector<std::string>{});
  }
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->data_dir() / "builds"));
  const RunResult logs = daemon_->Cli({"logs", "1"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out.find(kPassword), std::string::npos);

  // Any OCI client reads what hephyd pushed: skopeo, with the same
  // credentials file and the CA as a certificate directory.
  const auto certs = daemon_->dir() / "skopeo-certs";
  std::filesystem::create_directories(certs);
  std::filesystem::copy_file(registry.ca_file(), certs / "ca.crt");
  const std::string image = "docker://" + registry.url() + "/web:" + DefaultTag();
  const std::string authfile = (daemon_->dir() / "docker-config.json").string();
  const RunResult raw = hephy::Run({.argv = {"skopeo", "inspect", "--raw", "--authfile", authfile,
                                             "--cert-dir", certs.string(), image}});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(Sha256Digest(raw.out), index.digest);
  const auto copy = daemon_->dir() / "copy";
  const RunResult copied =
      hephy::Run({.argv = {"skopeo", "copy", "--all", "--src-authfile", authfile, "--src-cert-dir",
                           certs.string(), image, "oci:" + copy.string() + ":web"}},
                 "", std::chrono::seconds(120));
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  std::ifstream layout_index(copy / "index.json");
  const json layout = json::parse(layout_index);
  ASSERT_EQ(layout["manifests"].size(), 1u);
  EXPECT_EQ(layout["manifests"][0]["digest"], index.digest);
}

TEST_F(RegistryAuthTest, WrongPasswordRejectsThePushAndBuildsNothingIntoTheRegistry) {
  BasicAuthTestRegistry registry(kUser, kPassword);
  Start(registry.url(), "  insecure: false\n  ca_file: \"" + registry.ca_file().string() + "\"\n",
        AuthsFor(registry.url(), kUser, "not-the-password"));
  const RunResult r = Push();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("pre-receive hook declined"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("buildah push to " + registry.url() + "/web:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unauthorized"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not-the-password"), std::string::npos) << r.err;
  EXPECT_EQ(StoredMain(), "");
  RegistryClient client(
      RegistryClientOptions{.url = registry.url(),
                            .ca_file = registry.ca_file(),
                            .credentials = RegistryCredentials{kUser, kPassword}});
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{});
}

// A credential helper on hephyd's PATH that records what it was asked and
// answers with `user` and `secret`.
class CredentialHelper {
 public:
  CredentialHelper(const std::filesystem::path& dir, const std::string& user,
                   const std::string& secret)
      : bin_(dir / "helper-bin"), asked_(dir / "helper-asked") {
    std::filesystem::create_directories(bin_);
    const auto program = bin_ / "docker-credential-test";
    std::ofstream(program)
        << "#!/bin/sh\n"
        << "[ \"$1\" = get ] || exit 3\n"
        << "cat >> '" << asked_.string() << "'\n"
        << "echo >> '" << asked_.string() << "'\n"
        << "printf '{\"ServerURL\":\"x\",\"Username\":\"%s\",\"Secret\":\"%s\"}' '" << user << "' '"
        << secret << "'\n";
    std::filesystem::permissions(program, std::filesystem::perms::owner_all);
    const char* path = std::getenv("PATH");
    old_path_ = path != nullptr ? path : "";
    setenv("PATH", (bin_.string() + ":" + old_path_).c_str(), 1);
  }
  ~CredentialHelper() { setenv("PATH", old_path_.c_str(), 1); }

  // Every server URL it was asked for, one a line.
  std::string asked() const {
    std::ifstream in(asked_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::filesystem::path bin_;
  std::filesystem::path asked_;
  std::string old_path_;
};

TEST_F(RegistryAuthTest, CredsStoreHelperAnswersAndTheTokenFlowPushes) {
  TokenAuthTestRegistry registry(kUser, kPassword);
  TestDir scratch;
  CredentialHelper helper(scratch.path(), kUser, kPassword);
  Start(registry.url(), "", R"({"credsStore":"test"})",
        "builder:\n  platforms: [linux/amd64, linux/arm64]\n");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;

  EXPECT_EQ(helper.asked(), registry.url() + "\n");
  // buildah and hephyd both went through the token service, with credentials.
  EXPECT_GT(registry.issuer().requests_for("repository:web:pull,push"), 0);
  for (const auto& request : registry.issuer().requests()) {
    EXPECT_EQ(request.status, 200);
    EXPECT_TRUE(request.authorization);
  }
  RegistryClient client(
      RegistryClientOptions{.url = registry.url(),
                            .insecure = true,
                            .credentials = RegistryCredentials{kUser, kPassword}});
  const auto index = client.GetManifest("web", DefaultTag());
  EXPECT_EQ(json::parse(index.body)["manifests"].size(), 2u);
  EXPECT_EQ(daemon_->Log().find(kPassword), std::string::npos);
}

TEST_F(RegistryAuthTest, FailingHelperFailsTheBuildWithItsStderr) {
  TestRegistry registry;
  TestDir scratch;
  const auto bin = scratch.path() / "bin";
  std::filesystem::create_directories(bin);
  std::ofstream(bin / "docker-credential-broken")
      << "#!/bin/sh\necho 'keychain locked' >&2\necho '{\"Secret\":\"stdout-secret\"}'\nexit 1\n";
  std::filesystem::permissions(bin / "docker-credential-broken", std::filesystem::perms::owner_all);
  const std::string old_path = std::getenv("PATH");
  setenv("PATH", (bin.string() + ":" + old_path).c_str(), 1);
  Start(registry.url(), "", R"({"credHelpers":{")" + registry.url() + R"(":"broken"}})");
  const RunResult r = Push();
  setenv("PATH", old_path.c_str(), 1);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("docker-credential-broken"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("keychain locked"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("stdout-secret"), std::string::npos) << r.err;
  EXPECT_EQ(StoredMain(), "");
}

TEST_F(RegistryAuthTest, RegistryFailingTwiceThenAnsweringStillGetsTheIndex) {
  TestRegistry registry;
  FaultProxy proxy(registry.url());
  const int rule = proxy.Fail("PUT", "/v2/web/manifests/web-latest", 500, 2);
  Start(proxy.url(), "", "{}");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy.injected(rule), 2);
  EXPECT_EQ(proxy.matched(rule), 3);
  RegistryClient client(registry.url(), true);
  EXPECT_EQ(client.HeadManifest("web", "web-latest"), client.HeadManifest("web", DefaultTag()));
  EXPECT_TRUE(daemon_->WaitForLog("500 Internal Server Error: UNKNOWN: injected; trying again in"))
      << daemon_->Log();
}

TEST_F(RegistryAuthTest, RegistryThatKeepsFailingRejectsThePushNamingRequestAndStatus) {
  TestRegistry registry;
  FaultProxy proxy(registry.url());
  const int rule = proxy.Fail("PUT", "/v2/web/manifests/web-latest", 500, FaultProxy::kAlways);
  Start(proxy.url(), "  retry: { attempts: 3 }\n", "{}");
  const RunResult r = Push();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("registry " + proxy.url() +
                       ": PUT /v2/web/manifests/web-latest: 500 Internal Server Error: UNKNOWN: "
                       "injected (gave up after 3 tries in "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("pre-receive hook declined"), std::string::npos) << r.err;
  EXPECT_EQ(proxy.matched(rule), 3);
  EXPECT_EQ(StoredMain(), "");
}

TEST(RegistryAuth, ServeRefusesAMalformedDockerConfigNamingIt) {
  TestDaemon daemon("", "", "");
  const auto file = daemon.dir() / "docker-config.json";
  std::ofstream(file) << "{\"auths\": {\n";
  const RunResult r = daemon.Cli({"serve"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hephy
