// `hephyd build`, the one-shot build of a local checkout for CI: the real
// hephyd binary on a catalog checkout made with git, real buildah (directly
// or behind a stand-in for /kaniko/executor), a real docker-registry.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "build/image_tags.h"
#include "hephy/error.h"
#include "hephy/registry_client.h"
#include "hephy/store.h"
#include "processes.h"
#include "test_dir.h"
#include "test_registry.h"
#include "util/process.h"
#include "work_tree.h"

namespace hephy {
namespace {

using nlohmann::json;

// A stand-in for /kaniko/executor that builds and pushes what Kaniko would,
// with buildah in the job's work directory (its working directory), after
// recording its arguments, one a line, to RECORD/argv.
constexpr std::string_view kKanikoStandIn = R"sh(
for a in "$@"; do printf '%s\n' "$a"; done >> "$rec/argv"
for a in "$@"; do
  case "$a" in
    --digest-file=*) digest="${a#--digest-file=}" ;;
    --customPlatform=*) platform="${a#--customPlatform=}" ;;
    --destination=*) destination="${a#--destination=}" ;;
    --dockerfile=*) dockerfile="${a#--dockerfile=}" ;;
    --context=dir://*) context="${a#--context=dir://}" ;;
  esac
done
echo "stand-in kaniko: $destination"
b() { buildah --root "$PWD/storage" --runroot "$PWD/run" --storage-driver vfs "$@"; }
b build --isolation chroot --platform "$platform" --layers=false --tls-verify=false \
  --file "$dockerfile" --tag "$destination" "$context" || exit 1
b push --quiet --tls-verify=false --digestfile "$digest" "$destination" "docker://$destination"
)sh";

// A stand-in that says "started" and then hangs, its pid in RECORD/pid.
constexpr std::string_view kHangingStandIn = R"sh(
echo $$ > "$rec/pid"
echo started
exec sleep 60
)sh";

class CliBuildTest : public ::testing::Test {
 protected:
  CliBuildTest() : checkout_(dir_.path() / "catalog") {
    std::filesystem::create_directories(record());
    WriteUnit("base", "additional_tags: [latest]\n", "base layer");
    WriteUnit("app", "", "app layer", registry_.url() + "/catalog:base-latest");
    commit_ = checkout_.Commit("two units");
  }

  std::filesystem::path record() const { return dir_.path() / "record"; }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  std::filesystem::path config() const { return dir_.path() / "hephy.yaml"; }

  // An in-tree unit at `dir` whose image holds one file.
  void WriteUnit(const std::string& dir, const std::string& config, const std::string& content,
                 const std::string& from = "scratch") {
    checkout_.Write(dir + "/build-config.yaml", config);
    checkout_.Write(dir + "/payload.txt", content + "\n");
    checkout_.Write(dir + "/Dockerfile", "FROM " + from + "\nCOPY payload.txt /payload.txt\n");
  }

  // The config: the test registry (external, plain HTTP), both platforms,
  // and `builder` lines (indented by two spaces).
  void WriteConfig(const std::string& builder = "  executor: buildah\n") {
    std::ofstream(config()) << "data_dir: " << data_dir().string() << "\n"
                            << "registry:\n  url: " << registry_.url()
                            << "\n  embedded: false\n  insecure: true\n"
                            << "  docker_config: " << (dir_.path() / "none.json").string() << "\n"
                            << "builder:\n  platforms: [linux/amd64, linux/arm64]\n"
                            << builder;
  }

  // Makes `body` the executor of kaniko-local, as a script that finds the
  // record directory in $rec.
  void UseKanikoStandIn(std::string_view body) {
    const auto script = dir_.path() / "executor";
    std::ofstream(script) << "#!/bin/sh\nrec='" << record().string() << "'\n" << body;
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    WriteConfig("  executor: kaniko-local\n  kaniko:\n    executor_path: " + script.string() +
                "\n");
  }

  SpawnOptions Hephyd(std::vector<std::string> args, const std::filesystem::path& cwd) const {
    args.insert(args.begin(), {HEPHYD_PATH, "--config", config().string(), "build"});
    return {.argv = std::move(args), .cwd = cwd};
  }

  RunResult RunBuild(const std::vector<std::string>& args = {}) const {
    return hephy::Run(Hephyd(args, checkout_.dir()), "", std::chrono::minutes(5));
  }

  std::vector<hephy::Build> Records() const {
    Store store(data_dir() / "hephy.db");
    return store.ListBuilds("catalog");
  }

  std::string DefaultTag(const std::string& unit) const {
    return TagsFor(unit, commit_, std::chrono::system_clock::now(), {}).default_tag;
  }

  TestDir dir_;
  TestRegistry registry_;
  WorkTree checkout_;
  std::string commit_;
  RegistryClient registry_client_{registry_.url(), true};
};

TEST_F(CliBuildTest, BuildsEveryUnitOfTheCheckoutAsAPushWould) {
  WriteConfig();
  // A CI clone's origin carries the job's token.
  checkout_.Git(
      {"remote", "add", "origin", "https://ci-token:s3cret@git.example/tools/catalog.git"});
  const RunResult r = RunBuild();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("s3cret"), std::string::npos);

  // The log on stdout, as a pusher sees it: each line of a job prefixed
  // with its unit and platform.
  EXPECT_NE(r.out.find("base [linux/arm64] STEP 1/2: FROM scratch\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("app [linux/amd64] STEP 1/2: FROM " + registry_.url() + "/catalog@sha256:"),
            std::string::npos)
      << r.out;

  const auto listed = registry_client_.ListTags("catalog");
  const std::set<std::string> tags(listed.begin(), listed.end());
  for (const auto& tag :
       {DefaultTag("base"), DefaultTag("base") + "-amd64", DefaultTag("base") + "-arm64",
        std::string("base-latest"), DefaultTag("app")}) {
    EXPECT_TRUE(tags.contains(tag)) << tag;
  }
  const json index = json::parse(registry_client_.GetManifest("catalog", DefaultTag("app")).body);
  std::set<std::string> architectures;
  for (const auto& manifest : index["manifests"]) {
    architectures.insert(manifest["platform"]["architecture"].get<std::string>());
  }
  EXPECT_EQ(architectures, (std::set<std::string>{"amd64", "arm64"}));
  // The index says where its tree comes from: the origin, without the token.
  EXPECT_EQ(index["annotations"]["org.opencontainers.image.source"],
            "https://git.example/tools/catalog.git");

  const auto builds = Records();
  ASSERT_EQ(builds.size(), 2u);
  for (const auto& build : builds) {
    EXPECT_EQ(build.status, "succeeded") << build.unit;
    EXPECT_EQ(build.triggered_by, "cli");
    EXPECT_EQ(build.ref, "refs/heads/main");
    EXPECT_EQ(build.new_sha, commit_);
    EXPECT_EQ(build.index_digest, registry_client_.HeadManifest("catalog", DefaultTag(build.unit)));
    EXPECT_EQ(build.jobs.size(), 2u);
  }
}

TEST_F(CliBuildTest, AFailedUnitExitsOneNamingIt) {
  WriteConfig();
  checkout_.Write("broken/build-config.yaml", "");
  checkout_.Write("broken/Dockerfile", "FROM scratch\nCOPY missing.txt /\n");
  checkout_.Commit("a broken unit");
  const RunResult r = RunBuild({"--unit", "broken", "--platforms", "linux/amd64"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("hephyd build: build "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(broken) failed: linux/amd64: buildah build exited with status"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(Records().size(), 1u);
  EXPECT_EQ(Records()[0].status, "failed");
}

TEST_F(CliBuildTest, UsageErrorsExitTwo) {
  WriteConfig();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--all", "--unit", "app"},
           {"--platforms", "linux/amd64,amd64"},
           {"--no-such-option"},
       }) {
    const RunResult r = RunBuild(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: hephyd build"), std::string::npos) << r.err;
  }
  const RunResult bad_rev = RunBuild({"--rev", "no-such-rev"});
  EXPECT_EQ(bad_rev.exit_code, 1);
  EXPECT_NE(bad_rev.err.find("hephyd: --rev no-such-rev: "), std::string::npos) << bad_rev.err;
  const RunResult unknown_unit = RunBuild({"--unit", "ghost"});
  EXPECT_EQ(unknown_unit.exit_code, 1);
  EXPECT_NE(unknown_unit.err.find("no unit 'ghost'"), std::string::npos) << unknown_unit.err;
  EXPECT_TRUE(Records().empty());
}

TEST_F(CliBuildTest, ChangedSinceBuildsOnlyTheUnitsThatChanged) {
  WriteConfig();
  WriteUnit("side", "", "side layer");
  commit_ = checkout_.Commit("a third unit");
  const RunResult r = RunBuild({"--changed-since", "HEAD~1", "--platforms", "linux/amd64"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("building side (changed; 1 of 3 units)"), std::string::npos) << r.out;
  const auto builds = Records();
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].unit, "side");
  EXPECT_EQ(builds[0].status, "succeeded") << builds[0].error;
  EXPECT_EQ(builds[0].old_sha, checkout_.Git({"rev-parse", "HEAD~1"}));
}

TEST_F(CliBuildTest, KanikoLocalBuildsAShallowDetachedCiCheckout) {
  UseKanikoStandIn(kKanikoStandIn);
  // As CI checks out: one commit deep, HEAD detached.
  const auto ci = dir_.path() / "ci";
  ASSERT_EQ(hephy::Run({.argv = {"git", "clone", "-q", "--depth", "1",
                                 "file://" + checkout_.dir().string(), ci.string()}})
                .exit_code,
            0);
  ASSERT_EQ(
      hephy::Run({.argv = {"git", "-C", ci.string(), "checkout", "-q", "--detach"}}).exit_code, 0);
  const RunResult r = hephy::Run(Hephyd({"--app", "catalog", "--platforms", "linux/amd64"}, ci), "",
                                 std::chrono::minutes(5));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[linux/amd64] stand-in kaniko: " + registry_.url() +
                       "/catalog:" + DefaultTag("base") + "-amd64\n"),
            std::string::npos)
      << r.out;

  std::ifstream argv_file(record() / "argv");
  std::vector<std::string> argv;
  for (std::string line; std::getline(argv_file, line);) argv.push_back(line);
  ASSERT_FALSE(argv.empty());
  EXPECT_TRUE(argv[0].starts_with("--context=dir://" + (data_dir() / "builds").string() + "/"))
      << argv[0];
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--customPlatform=linux/amd64"), argv.end());
  // The app's layer cache beside its images, a week's layers at most.
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--cache=true"), argv.end());
  EXPECT_NE(
      std::find(argv.begin(), argv.end(), "--cache-repo=" + registry_.url() + "/catalog/cache"),
      argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--cache-ttl=604800s"), argv.end());

  // base, and app built FROM it.
  const auto builds = Records();
  ASSERT_EQ(builds.size(), 2u);
  for (const auto& build : builds) {
    EXPECT_EQ(build.status, "succeeded") << build.unit << ": " << build.error;
    EXPECT_EQ(build.ref, "HEAD");
    EXPECT_EQ(build.index_digest, registry_client_.HeadManifest("catalog", DefaultTag(build.unit)));
  }
}

TEST_F(CliBuildTest, SigintCancelsTheBuildAndKillsItsJobs) {
  UseKanikoStandIn(kHangingStandIn);
  SpawnOptions options = Hephyd({"--platforms", "linux/amd64"}, checkout_.dir());
  options.pipe_stdout = true;
  Child hephyd = Spawn(options);
  // Read stdout until the job says it started.
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (out.find("started\n") == std::string::npos && hephyd.stdout_fd()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    ASSERT_GT(left.count(), 0) << out;
    pollfd fd{hephyd.stdout_fd().get(), POLLIN, 0};
    poll(&fd, 1, static_cast<int>(left.count()));
    char buffer[4096];
    const ssize_t n = read(hephyd.stdout_fd().get(), buffer, sizeof buffer);
    if (n > 0) out.append(buffer, n);
    if (n == 0) hephyd.stdout_fd().Reset();
  }
  ASSERT_NE(out.find("[linux/amd64] started\n"), std::string::npos) << out;
  pid_t job = 0;
  std::ifstream(record() / "pid") >> job;
  ASSERT_GT(job, 0);

  kill(hephyd.pid(), SIGINT);
  hephyd.stdout_fd().Reset();
  EXPECT_EQ(hephyd.Wait(), 1);
  EXPECT_TRUE(ProcessesMatching("--digest-file=" + (data_dir() / "builds").string()).empty());
  EXPECT_NE(kill(job, 0), 0) << "the job's executor outlived the build";
  // base was running, app waiting for it.
  const auto builds = Records();
  ASSERT_EQ(builds.size(), 2u);
  for (const auto& build : builds) EXPECT_EQ(build.status, "cancelled") << build.unit;
  const auto base =
      std::find_if(builds.begin(), builds.end(), [](const auto& b) { return b.unit == "base"; });
  ASSERT_NE(base, builds.end());
  ASSERT_EQ(base->jobs.size(), 1u);
  EXPECT_EQ(base->jobs[0].status, "cancelled");
}

}  // namespace
}  // namespace hephy
