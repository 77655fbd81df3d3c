// The kaniko-local executor with a stand-in for /kaniko/executor: a script
// that records the argv and environment it was given and, where a test needs
// a real image, builds and pushes one with buildah to a real registry.
#include "executors/kaniko_local_executor.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <thread>

#include "hephy/registry_client.h"
#include "test_dir.h"
#include "test_registry.h"
#include "util/base64.h"
#include "util/process.h"

namespace hephy {
namespace {

std::string ReadText(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> ReadLines(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Whether the process ends (or is gone already) within `timeout`: a
// process killed with SIGKILL takes a moment to go, and one that is not our
// child is waited for through a pidfd.
bool EndsWithin(pid_t pid, std::chrono::milliseconds timeout) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd ready{fd, POLLIN, 0};
  const bool ended = poll(&ready, 1, static_cast<int>(timeout.count())) == 1;
  close(fd);
  return ended;
}

// The part of the stand-in every test shares: it writes its arguments to
// RECORD/argv (one a line), where DOCKER_CONFIG points and the mode and
// text of its config.json, and sets $digest, $platform, $destination and
// $context from its options.
constexpr std::string_view kPrologue = R"sh(#!/bin/sh
rec="$1"; shift
for a in "$@"; do printf '%s\n' "$a"; done > "$rec/argv.tmp"
mv "$rec/argv.tmp" "$rec/argv"
if [ -n "$DOCKER_CONFIG" ]; then
  printf '%s\n' "$DOCKER_CONFIG" > "$rec/docker-config-dir"
  stat -c %a "$DOCKER_CONFIG/config.json" > "$rec/config-mode"
  cp "$DOCKER_CONFIG/config.json" "$rec/config.json"
fi
for a in "$@"; do
  case "$a" in
    --digest-file=*) digest="${a#--digest-file=}" ;;
    --customPlatform=*) platform="${a#--customPlatform=}" ;;
    --destination=*) destination="${a#--destination=}" ;;
    --context=dir://*) context="${a#--context=dir://}" ;;
  esac
done
)sh";

class KanikoLocalExecutorTest : public ::testing::Test {
 protected:
  KanikoLocalExecutorTest() {
    std::filesystem::create_directories(context());
    std::filesystem::create_directories(record());
    std::ofstream(context() / "hello.txt") << "hello\n";
    std::ofstream(context() / "Dockerfile") << "FROM scratch\nCOPY hello.txt /hello.txt\n";
  }

  std::filesystem::path context() const { return dir_.path() / "context"; }
  std::filesystem::path record() const { return dir_.path() / "record"; }
  std::filesystem::path builds() const { return dir_.path() / "builds"; }

  // An executor whose executor_path is a stand-in running `body` after the
  // prologue. The stand-in is a wrapper that hands the record directory on
  // as its first argument, so that the executor's argv is the script's "$@".
  KanikoLocalExecutor& StandIn(const std::string& body, bool parallel = false) {
    const auto script = dir_.path() / "stand-in.sh";
    std::ofstream(script) << kPrologue << body << "\n";
    const auto wrapper = dir_.path() / "executor";
    std::ofstream(wrapper) << "#!/bin/sh\nexec sh '" << script.string() << "' '"
                           << record().string() << "' \"$@\"\n";
    std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
    KanikoConfig config;
    config.executor_path = wrapper;
    config.parallel = parallel;
    executor_.emplace(config, builds());
    return *executor_;
  }

  // Runs `job` on a thread of its own and returns once its stand-in printed
  // "started" (or the job ended without): its result comes in the future.
  static std::future<PlatformJobResult> RunUntilStarted(PlatformJob& job) {
    auto started = std::make_shared<std::promise<void>>();
    auto ready = started->get_future();
    auto run = std::async(std::launch::async, [&job, started] {
      bool said = false;
      auto result = job.Run([&](std::string_view line) {
        if (line == "started" && !said) started->set_value(), said = true;
      });
      if (!said) started->set_value();
      return result;
    });
    ready.wait();
    return run;
  }

  PlatformJobSpec Spec(const std::string& platform, const std::string& tag) {
    PlatformJobSpec spec;
    spec.platform = platform;
    spec.context_dir = context();
    spec.destination = registry_.url() + "/web:" + tag;
    spec.insecure_registry = true;
    spec.work_dir = builds() / tag;
    std::filesystem::create_directories(spec.work_dir);
    return spec;
  }

  TestDir dir_;
  TestRegistry registry_;
  std::optional<KanikoLocalExecutor> executor_;
};

// Writes the sha256 of the platform's name as the digest, as Kaniko writes
// one: without a newline.
constexpr std::string_view kWriteDigest =
    R"sh(printf 'sha256:%s' "$(printf '%s' "$platform" | sha256sum | cut -d' ' -f1)" > "$digest")sh";

std::string Sha256Hex(const std::string& text) {
  return Sha256Digest(text).substr(std::string_view("sha256:").size());
}

TEST_F(KanikoLocalExecutorTest, GivesKanikoTheSeedsFlagsAsSeparateArguments) {
  auto& executor = StandIn(std::string(kWriteDigest));
  PlatformJobSpec spec = Spec("linux/arm64", "web-arm64");
  spec.target = "runtime";
  const auto pwned = dir_.path() / "pwned";
  const std::string hostile = "A=$(touch " + pwned.string() + "); x";
  spec.build_args = {hostile, "B=two words"};
  const PlatformJobResult result = executor.Prepare(spec)->Run([](std::string_view) {});
  ASSERT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;

  const std::vector<std::string> expected = {
      "--context=dir://" + context().string(),
      "--dockerfile=" + context().string() + "/Dockerfile",
      "--destination=" + registry_.url() + "/web:web-arm64",
      "--customPlatform=linux/arm64",
      "--target=runtime",
      "--build-arg",
      hostile,
      "--build-arg",
      "B=two words",
      "--cache=false",
      "--use-new-run",
      "--cleanup",
      "--digest-file=" + (spec.work_dir / "digest").string(),
      "--insecure-registry=" + registry_.url(),
  };
  EXPECT_EQ(ReadLines(record() / "argv"), expected);
  EXPECT_FALSE(std::filesystem::exists(pwned));
  EXPECT_EQ(result.digest, "sha256:" + Sha256Hex("linux/arm64"));
  EXPECT_EQ(result.exit_code, 0);
}

TEST_F(KanikoLocalExecutorTest, UsesTheAppsCacheRepositoryUnlessTheBuildRefreshesIt) {
  auto& executor = StandIn(std::string(kWriteDigest));
  PlatformJobSpec spec = Spec("linux/amd64", "web-amd64");
  spec.cache = LayerCacheUse{.app = "web",
                             .unit = "api",
                             .repository = registry_.url() + "/web/cache",
                             .ttl = std::chrono::hours(168)};
  ASSERT_EQ(executor.Prepare(spec)->Run([](std::string_view) {}).outcome,
            PlatformJobResult::Outcome::kSucceeded);
  auto argv = ReadLines(record() / "argv");
  const auto cache = std::find(argv.begin(), argv.end(), "--cache=true");
  ASSERT_NE(cache, argv.end());
  ASSERT_LT(cache + 2, argv.end());
  EXPECT_EQ(*(cache + 1), "--cache-repo=" + registry_.url() + "/web/cache");
  EXPECT_EQ(*(cache + 2), "--cache-ttl=604800s");
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--cache=false"), argv.end());

  // -o no-cache, scheduled rebuilds: Kaniko reads nothing from the cache.
  spec.cache->refresh = true;
  spec.work_dir = builds() / "refresh";
  std::filesystem::create_directories(spec.work_dir);
  ASSERT_EQ(executor.Prepare(spec)->Run([](std::string_view) {}).outcome,
            PlatformJobResult::Outcome::kSucceeded);
  argv = ReadLines(record() / "argv");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--cache=false"), argv.end());
  for (const auto& arg : argv) EXPECT_FALSE(arg.starts_with("--cache-repo")) << arg;
}

TEST_F(KanikoLocalExecutorTest, BuildsAndPushesARealImageAndReportsItsDigest) {
  // What Kaniko would do, done by buildah in the job's work directory.
  auto& executor = StandIn(R"sh(
b() { buildah --root "$PWD/storage" --runroot "$PWD/run" --storage-driver vfs "$@"; }
b build --isolation chroot --platform "$platform" --layers=false --tls-verify=false \
  --file "$context/Dockerfile" --tag "$destination" "$context" || exit 1
b push --quiet --tls-verify=false --digestfile "$digest" "$destination" "docker://$destination"
)sh");
  std::vector<std::string> lines;
  const PlatformJobResult result =
      executor.Prepare(Spec("linux/amd64", "real-amd64"))->Run([&](std::string_view line) {
        lines.emplace_back(line);
      });
  ASSERT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "STEP 1/2: FROM scratch");
  RegistryClient registry(registry_.url(), true);
  EXPECT_EQ(registry.HeadManifest("web", "real-amd64"), result.digest);
}

TEST_F(KanikoLocalExecutorTest, StreamsEachLineAsItIsPrintedStdoutAndStderrInOrder) {
  // The stand-in goes on only once the test has seen its first line: lines
  // held back until the end would leave it waiting, and fail it.
  auto& executor = StandIn(std::string(R"sh(
echo first
i=0
while [ ! -e "$rec/seen" ]; do
  i=$((i + 1)); [ $i -gt 500 ] && { echo "first line never arrived"; exit 1; }
  sleep 0.02
done
echo second >&2
printf 'third without a newline'
)sh") + std::string(kWriteDigest));
  std::vector<std::string> lines;
  const PlatformJobResult result =
      executor.Prepare(Spec("linux/amd64", "stream"))->Run([&](std::string_view line) {
        lines.emplace_back(line);
        if (line == "first") std::ofstream(record() / "seen");
      });
  ASSERT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second", "third without a newline"}));
}

TEST_F(KanikoLocalExecutorTest, ANonZeroExitFailsWithTheExitCode) {
  auto& executor = StandIn("echo 'error building image: step 2'\nexit 3");
  std::vector<std::string> lines;
  const PlatformJobResult result =
      executor.Prepare(Spec("linux/amd64", "broken"))->Run([&](std::string_view l) {
        lines.emplace_back(l);
      });
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kFailed);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.error.find("exited with status 3"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find(dir_.path() / "executor"), std::string::npos) << result.error;
  EXPECT_EQ(lines, std::vector<std::string>{"error building image: step 2"});
  EXPECT_TRUE(result.digest.empty());
}

TEST_F(KanikoLocalExecutorTest, ADigestFileThatIsNotADigestFailsTheJob) {
  auto& executor = StandIn(R"sh(printf 'sha256:not-hex' > "$digest")sh");
  PlatformJobSpec spec = Spec("linux/amd64", "bad-digest");
  const PlatformJobResult result = executor.Prepare(spec)->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kFailed);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.error, "the Kaniko executor's digest file " +
                              (spec.work_dir / "digest").string() +
                              " holds 'sha256:not-hex', not a sha256 digest");
  EXPECT_TRUE(result.digest.empty());
}

TEST_F(KanikoLocalExecutorTest, NoDigestFileFailsTheJob) {
  auto& executor = StandIn("true");
  PlatformJobSpec spec = Spec("linux/amd64", "no-digest");
  const PlatformJobResult result = executor.Prepare(spec)->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kFailed);
  EXPECT_EQ(result.error,
            "the Kaniko executor wrote no digest to " + (spec.work_dir / "digest").string());
}

TEST_F(KanikoLocalExecutorTest, CredentialsAreAPrivateConfigJsonNamedByDockerConfigOnly) {
  auto& executor = StandIn(std::string(kWriteDigest));
  PlatformJobSpec spec = Spec("linux/amd64", "auth");
  spec.registry_credentials = RegistryCredentials{"alice", "s3cret-pw"};
  const PlatformJobResult result = executor.Prepare(spec)->Run([](std::string_view) {});
  ASSERT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;

  EXPECT_EQ(ReadLines(record() / "docker-config-dir"),
            std::vector<std::string>{(spec.work_dir / "docker").string()});
  EXPECT_EQ(ReadLines(record() / "config-mode"), std::vector<std::string>{"600"});
  const auto config = nlohmann::json::parse(ReadText(record() / "config.json"));
  EXPECT_EQ(config["auths"][registry_.url()]["auth"], Base64Encode("alice:s3cret-pw"));
  for (const auto& arg : ReadLines(record() / "argv")) {
    EXPECT_EQ(arg.find("s3cret"), std::string::npos) << arg;
  }
  // Gone once the job ended.
  EXPECT_FALSE(std::filesystem::exists(spec.work_dir / "docker"));
}

TEST_F(KanikoLocalExecutorTest, APrivateCaIsACopyInTheJobNamedByRegistryCertificate) {
  auto& executor = StandIn(std::string(kWriteDigest));
  const auto ca = dir_.path() / "ca.pem";
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  PlatformJobSpec spec = Spec("linux/amd64", "tls");
  spec.insecure_registry = false;
  spec.registry_ca_file = ca;
  auto job = executor.Prepare(spec);
  ASSERT_EQ(job->Run([](std::string_view) {}).outcome, PlatformJobResult::Outcome::kSucceeded);
  const auto argv = ReadLines(record() / "argv");
  const auto copy = spec.work_dir / "registry-ca.crt";
  EXPECT_EQ(argv.back(), "--registry-certificate=" + registry_.url() + "=" + copy.string());
  EXPECT_EQ(ReadText(copy), ReadText(ca));
  EXPECT_EQ(std::count_if(argv.begin(), argv.end(),
                          [](const auto& a) { return a.starts_with("--insecure"); }),
            0);
}

// The stand-in's part for the cancel and timeout tests: a grandchild of its
// own, both pids recorded, "started" said, then nothing until killed.
constexpr std::string_view kHang = R"sh(
sleep 60 &
echo "$$ $!" > "$rec/pids"
echo started
wait
)sh";

TEST_F(KanikoLocalExecutorTest, CancelKillsTheExecutorsProcessGroupAtOnce) {
  auto& executor = StandIn(std::string(kHang));
  auto job = executor.Prepare(Spec("linux/amd64", "cancelled"));
  auto run = RunUntilStarted(*job);
  pid_t script = 0, grandchild = 0;
  std::istringstream(ReadText(record() / "pids")) >> script >> grandchild;
  ASSERT_GT(script, 0);
  ASSERT_GT(grandchild, 0);
  const auto cancel = std::chrono::steady_clock::now();
  job->Cancel();
  const PlatformJobResult result = run.get();
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kCancelled);
  EXPECT_EQ(result.error, "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - cancel, std::chrono::seconds(2));
  EXPECT_TRUE(EndsWithin(script, std::chrono::seconds(2)));
  EXPECT_TRUE(EndsWithin(grandchild, std::chrono::seconds(2)));
}

TEST_F(KanikoLocalExecutorTest, TimeoutKillsTheExecutor) {
  auto& executor = StandIn(std::string(kHang));
  PlatformJobSpec spec = Spec("linux/amd64", "slow");
  spec.timeout = std::chrono::seconds(1);
  const PlatformJobResult result = executor.Prepare(spec)->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kTimedOut);
  EXPECT_EQ(result.error, "timed out (builder.timeout)");
  pid_t script = 0, grandchild = 0;
  std::istringstream(ReadText(record() / "pids")) >> script >> grandchild;
  EXPECT_TRUE(EndsWithin(script, std::chrono::seconds(2)));
  EXPECT_TRUE(EndsWithin(grandchild, std::chrono::seconds(2)));
}

// Each job appends "start PLATFORM" and "end PLATFORM" to RECORD/log
// (appends of one short line do not interleave), and between them waits
// for a second start: at most `window` 20 ms steps.
std::string OverlapProbe(int window) {
  return R"sh(
echo "start $platform" >> "$rec/log"
i=0
while [ "$(grep -c '^start' "$rec/log")" -lt 2 ] && [ $i -lt )sh" +
         std::to_string(window) + R"sh( ]; do i=$((i + 1)); sleep 0.02; done
echo "end $platform" >> "$rec/log"
)sh" + std::string(kWriteDigest);
}

// Runs two jobs on threads of their own, both started at once.
std::vector<PlatformJobResult> RunTwo(std::unique_ptr<PlatformJob> a,
                                      std::unique_ptr<PlatformJob> b) {
  auto first = std::async(std::launch::async, [&] { return a->Run([](std::string_view) {}); });
  auto second = std::async(std::launch::async, [&] { return b->Run([](std::string_view) {}); });
  return {first.get(), second.get()};
}

TEST_F(KanikoLocalExecutorTest, JobsRunOneAtATimeUnlessParallel) {
  // A second start within 1 s of the first would be seen: without the
  // executor's turns, both jobs start at once.
  auto& executor = StandIn(OverlapProbe(50));
  const auto results = RunTwo(executor.Prepare(Spec("linux/amd64", "one")),
                              executor.Prepare(Spec("linux/arm64", "two")));
  for (const auto& result : results) {
    EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;
  }
  const auto log = ReadLines(record() / "log");
  ASSERT_EQ(log.size(), 4u);
  EXPECT_TRUE(log[0].starts_with("start ")) << log[0];
  EXPECT_EQ(log[1], "end " + log[0].substr(6));
  EXPECT_TRUE(log[2].starts_with("start ")) << log[2];
  EXPECT_EQ(log[3], "end " + log[2].substr(6));
}

TEST_F(KanikoLocalExecutorTest, ParallelJobsOverlap) {
  // Each job waits up to 10 s for the other to start.
  auto& executor = StandIn(OverlapProbe(500), /*parallel=*/true);
  const auto results = RunTwo(executor.Prepare(Spec("linux/amd64", "one")),
                              executor.Prepare(Spec("linux/arm64", "two")));
  for (const auto& result : results) {
    EXPECT_EQ(result.outcome, PlatformJobResult::Outcome::kSucceeded) << result.error;
  }
  const auto log = ReadLines(record() / "log");
  ASSERT_EQ(log.size(), 4u);
  EXPECT_TRUE(log[0].starts_with("start ")) << log[0];
  EXPECT_TRUE(log[1].starts_with("start ")) << log[1];
}

TEST_F(KanikoLocalExecutorTest, AJobWaitingItsTurnCanBeCancelledAndTimesOut) {
  auto& executor = StandIn(std::string(kHang));
  auto holder = executor.Prepare(Spec("linux/amd64", "holder"));
  auto holding = RunUntilStarted(*holder);
  std::filesystem::remove(record() / "argv");

  PlatformJobSpec waiting_spec = Spec("linux/arm64", "waiting");
  waiting_spec.timeout = std::chrono::seconds(1);
  const PlatformJobResult timed_out = executor.Prepare(waiting_spec)->Run([](std::string_view) {});
  EXPECT_EQ(timed_out.outcome, PlatformJobResult::Outcome::kTimedOut);
  EXPECT_EQ(timed_out.error, "timed out (builder.timeout)");

  auto cancelled = executor.Prepare(Spec("linux/arm64", "cancelled"));
  auto waiting =
      std::async(std::launch::async, [&] { return cancelled->Run([](std::string_view) {}); });
  const auto cancel = std::chrono::steady_clock::now();
  cancelled->Cancel();
  EXPECT_EQ(waiting.get().outcome, PlatformJobResult::Outcome::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - cancel, std::chrono::seconds(1));
  // Neither ever started its executor.
  EXPECT_FALSE(std::filesystem::exists(record() / "argv"));

  holder->Cancel();
  EXPECT_EQ(holding.get().outcome, PlatformJobResult::Outcome::kCancelled);
}

TEST_F(KanikoLocalExecutorTest, StopOrphansKillsExecutorsNamingTheBuildsDir) {
  auto& executor = StandIn("true");
  // What a crashed hephyd leaves: an executor whose options name a job's
  // directory, in a process group of its own.
  Child orphan = Spawn({.argv = {"sh", "-c", "sleep 60", "x",
                                 "--context=dir://" + (builds() / "7/context").string()}});
  Child bystander =
      Spawn({.argv = {"sh", "-c", "sleep 60", "x", "--context=dir://" + context().string()}});
  EXPECT_EQ(executor.StopOrphans(), 1);
  EXPECT_EQ(orphan.Wait(), 128 + SIGKILL);
  EXPECT_FALSE(bystander.TryWait());
}

}  // namespace
}  // namespace hephy
