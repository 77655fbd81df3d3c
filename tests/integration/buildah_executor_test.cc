// The buildah executor on its own: real buildah, a real registry.
#include "executors/buildah_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "executors/build_network.h"
#include "hephy/error.h"
#include "hephy/registry_client.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

class BuildahExecutorTest : public ::testing::Test {
 protected:
  // Jobs run as hephyd's do by default: network isolated, on the build bridge.
  BuildahExecutorTest()
      : executor_(BuildahConfig{}, dir_.path() / "builds",
                  BuildNetwork::Install(dir_.path() / "network").containers_conf()) {
    std::filesystem::create_directories(context());
    std::ofstream(context() / "hello.txt") << "hello\n";
  }

  std::filesystem::path context() const { return dir_.path() / "context"; }

  void WriteDockerfile(const std::string& text) { std::ofstream(context() / "Dockerfile") << text; }

  PlatformJobSpec Spec(const std::string& platform, const std::string& tag) {
    PlatformJobSpec spec;
    spec.platform = platform;
    spec.context_dir = context();
    spec.destination = registry_.url() + "/web:" + tag;
    spec.insecure_registry = true;
    spec.work_dir = dir_.path() / "builds" / tag;
    std::filesystem::create_directories(spec.work_dir);
    return spec;
  }

  TestDir dir_;
  TestRegistry registry_;
  BuildahExecutor executor_;
};

TEST_F(BuildahExecutorTest, BuildsPushesAndReportsTheDigest) {
  WriteDockerfile("FROM scratch\nCOPY hello.txt /hello.txt\n");
  auto job = executor_.Prepare(Spec("linux/arm64", "t-arm64"));
  std::vector<std::string> lines;
  const PlatformJobResult result = job->Run([&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;
  EXPECT_EQ(result.exit_code, 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "STEP 1/2: FROM scratch");

  RegistryClient registry(registry_.url(), true);
  EXPECT_EQ(registry.HeadManifest("web", "t-arm64"), result.digest);
}

TEST_F(BuildahExecutorTest, ABrokenDockerfileFailsWithBuildahsExitStatus) {
  WriteDockerfile("FROM scratch\nCOPY missing.txt /\n");
  auto job = executor_.Prepare(Spec("linux/amd64", "broken"));
  std::string output;
  const PlatformJobResult result =
      job->Run([&](std::string_view l) { output.append(l).append("\n"); });
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kFailed);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.error.rfind("buildah build exited with status ", 0), 0u) << result.error;
  EXPECT_NE(output.find("missing.txt"), std::string::npos) << output;
}

TEST_F(BuildahExecutorTest, CancelKillsTheRunningStep) {
  std::filesystem::copy_file("/bin/busybox", context() / "busybox");
  WriteDockerfile(
      "FROM scratch\nCOPY busybox /bin/busybox\n"
      "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo started; /bin/busybox sleep 60\"]\n");
  auto job = executor_.Prepare(Spec("linux/amd64", "cancelled"));
  // Set when the RUN step has started, or when the job ended before that.
  std::promise<void> started;
  std::string output;
  auto run = std::async(std::launch::async, [&] {
    bool said = false;
    auto result = job->Run([&](std::string_view line) {
      output.append(line).append("\n");
      if (line == "started" && !said) started.set_value(), said = true;
    });
    if (!said) started.set_value();
    return result;
  });
  started.get_future().wait();
  ASSERT_NE(output.find("started"), std::string::npos) << output;
  const auto cancel = std::chrono::steady_clock::now();
  job->Cancel();
  const PlatformJobResult result = run.get();
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - cancel, std::chrono::seconds(2));
}

TEST_F(BuildahExecutorTest, TimeoutEndsTheJob) {
  std::filesystem::copy_file("/bin/busybox", context() / "busybox");
  WriteDockerfile(
      "FROM scratch\nCOPY busybox /bin/busybox\n"
      "RUN [\"/bin/busybox\", \"sleep\", \"60\"]\n");
  PlatformJobSpec spec = Spec("linux/amd64", "slow");
  spec.timeout = std::chrono::seconds(2);
  const PlatformJobResult result = executor_.Prepare(spec)->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kTimedOut);
  EXPECT_EQ(result.error, "timed out (builder.timeout)");
}

TEST_F(BuildahExecutorTest, CancelBeforeRunStartsNothing) {
  WriteDockerfile("FROM scratch\nCOPY hello.txt /hello.txt\n");
  auto job = executor_.Prepare(Spec("linux/amd64", "never"));
  job->Cancel();
  bool printed = false;
  EXPECT_EQ(job->Run([&](std::string_view) { printed = true; }).outcome,
            PlatformJobResult::Outcome::kCancelled);
  EXPECT_FALSE(printed);
}

TEST(BuildahArgv, TargetAndBuildArgsArePassedAsSeparateArguments) {
  PlatformJobSpec spec;
  spec.platform = "linux/arm64";
  spec.context_dir = "/ctx";
  spec.target = "runtime";
  spec.build_args = {"VERSION=1 2; rm -rf /"};
  spec.destination = "127.0.0.1:5000/web:t";
  spec.work_dir = "/w";
  const auto argv = BuildahBuildArgv(BuildahConfig{}, spec, ScratchStorage(spec));
  const std::vector<std::string> expected = {"buildah",
                                             "--root",
                                             "/w/storage",
                                             "--runroot",
                                             "/w/run",
                                             "--storage-driver",
                                             "vfs",
                                             "build",
                                             "--isolation",
                                             "oci",
                                             "--runtime",
                                             "runc",
                                             "--network",
                                             "hephy-build",
                                             "--platform",
                                             "linux/arm64",
                                             "--layers=false",
                                             "--pull=always",
                                             "--http-proxy=false",
                                             "--tls-verify=true",
                                             "--file",
                                             "/ctx/Dockerfile",
                                             "--iidfile",
                                             "/w/image-id",
                                             "--target",
                                             "runtime",
                                             "--build-arg",
                                             "VERSION=1 2; rm -rf /",
                                             "/ctx"};
  EXPECT_EQ(argv, expected);
}

TEST(BuildahArgv, EachNetworkModeIsItsBuildahNetworkAndChrootHasNoRuntime) {
  PlatformJobSpec spec;
  spec.platform = "linux/amd64";
  spec.context_dir = "/ctx";
  spec.work_dir = "/w";
  const auto after = [](const std::vector<std::string>& argv, const std::string& flag) {
    const auto at = std::find(argv.begin(), argv.end(), flag);
    return at == argv.end() || at + 1 == argv.end() ? std::string("(absent)") : *(at + 1);
  };
  spec.network = NetworkMode::kNone;
  auto argv = BuildahBuildArgv(BuildahConfig{}, spec, ScratchStorage(spec));
  EXPECT_EQ(after(argv, "--network"), "none");
  EXPECT_EQ(after(argv, "--runtime"), "runc");

  BuildahConfig chroot;
  chroot.isolation = "chroot";
  spec.network = NetworkMode::kHost;
  argv = BuildahBuildArgv(chroot, spec, ScratchStorage(spec));
  EXPECT_EQ(after(argv, "--isolation"), "chroot");
  EXPECT_EQ(after(argv, "--network"), "host");
  EXPECT_EQ(after(argv, "--runtime"), "(absent)");
}

TEST(BuildahExecutor, AnIsolatedJobWithoutTheBuildNetworkIsRefused) {
  TestDir dir;
  BuildahExecutor executor(BuildahConfig{}, dir.path() / "builds");
  PlatformJobSpec spec;
  spec.work_dir = dir.path() / "builds" / "job";
  try {
    executor.Prepare(spec);
    FAIL() << "Prepare accepted an isolated job without a build network";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only with builder.network isolated"), std::string::npos)
        << e.what();
  }
}

TEST_F(BuildahExecutorTest, CredentialsAreInAPrivateFileOnlyWhileTheJobRuns) {
  WriteDockerfile("FROM scratch\nCOPY hello.txt /hello.txt\n");
  PlatformJobSpec spec = Spec("linux/amd64", "t-auth");
  spec.registry_credentials = RegistryCredentials{"alice", "s3cret-pw"};
  auto job = executor_.Prepare(spec);
  const auto auth_file = spec.work_dir / "auth.json";
  ASSERT_TRUE(std::filesystem::exists(auth_file));
  EXPECT_EQ(std::filesystem::status(auth_file).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::stringstream text;
  text << std::ifstream(auth_file).rdbuf();
  EXPECT_NE(text.str().find(registry_.url()), std::string::npos) << text.str();

  const PlatformJobResult result = job->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;
  EXPECT_FALSE(std::filesystem::exists(auth_file));
}

TEST(BuildahArgv, CredentialsGoInTheAuthFileNeverInArgv) {
  PlatformJobSpec spec;
  spec.platform = "linux/amd64";
  spec.context_dir = "/ctx";
  spec.destination = "registry.example/web:t";
  spec.work_dir = "/w";
  spec.registry_credentials = RegistryCredentials{"alice", "s3cret-pw"};
  for (const auto& argv : {BuildahBuildArgv(BuildahConfig{}, spec, ScratchStorage(spec)),
                           BuildahPushArgv(BuildahConfig{}, spec, ScratchStorage(spec), "abc")}) {
    const auto authfile = std::find(argv.begin(), argv.end(), "--authfile");
    ASSERT_NE(authfile, argv.end());
    ASSERT_LT(authfile + 1, argv.end());
    EXPECT_EQ(*(authfile + 1), "/w/auth.json");
    for (const auto& arg : argv) {
      EXPECT_EQ(arg.find("s3cret"), std::string::npos) << arg;
      EXPECT_EQ(arg.find("--creds"), std::string::npos) << arg;
    }
  }
  spec.registry_credentials.reset();
  const auto anonymous = BuildahPushArgv(BuildahConfig{}, spec, ScratchStorage(spec), "abc");
  EXPECT_EQ(std::find(anonymous.begin(), anonymous.end(), "--authfile"), anonymous.end());
}

TEST(BuildahArgv, PrivateCaIsACertDirOfTheJobForBuildAndPush) {
  PlatformJobSpec spec;
  spec.platform = "linux/amd64";
  spec.context_dir = "/ctx";
  spec.destination = "registry.example/web:t";
  spec.work_dir = "/w";
  spec.registry_ca_file = "/etc/hephy/ca.pem";
  for (const auto& argv : {BuildahBuildArgv(BuildahConfig{}, spec, ScratchStorage(spec)),
                           BuildahPushArgv(BuildahConfig{}, spec, ScratchStorage(spec), "abc")}) {
    const auto verify = std::find(argv.begin(), argv.end(), "--tls-verify=true");
    ASSERT_NE(verify, argv.end());
    ASSERT_LT(verify + 2, argv.end());
    EXPECT_EQ(*(verify + 1), "--cert-dir");
    EXPECT_EQ(*(verify + 2), "/w/certs");
  }
  spec.insecure_registry = true;
  const auto plain = BuildahPushArgv(BuildahConfig{}, spec, ScratchStorage(spec), "abc");
  EXPECT_NE(std::find(plain.begin(), plain.end(), "--tls-verify=false"), plain.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "--cert-dir"), plain.end());
}

}  // namespace
}  // namespace hephy
