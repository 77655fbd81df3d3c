// Catalog repositories, end to end: several build units per push, change
// detection, push options, upstream sources, dependencies between units,
// WebAssembly platforms and rebuilds without a push. Real git over real ssh
// to a real hephyd, real buildah, a real docker-registry read through its API.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "build/image_tags.h"
#include "hephy/registry_client.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;

// Every unit here is COPY-only, so it builds for any platform without qemu.
std::string CopyDockerfile(const std::string& file, const std::string& from = "scratch") {
  return "FROM " + from + "\nCOPY " + file + " /" + file + "\n";
}

class CatalogTest : public ::testing::Test {
 protected:
  void Start(const std::string& extra_config = "") {
    daemon_ = std::make_unique<TestDaemon>("registry:\n  repository: tools\n" + extra_config,
                                           registry_.url());
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  void Write(const std::string& path, const std::string& content) {
    std::filesystem::create_directories((src_ / path).parent_path());
    std::ofstream(src_ / path) << content;
  }

  // An in-tree unit at `dir` whose image holds one file.
  void WriteUnit(const std::string& dir, const std::string& config, const std::string& content,
                 const std::string& from = "scratch") {
    Write(dir + "/build-config.yaml", config);
    Write(dir + "/" + "payload.txt", content + "\n");
    Write(dir + "/Dockerfile", CopyDockerfile("payload.txt", from));
  }

  std::string Commit(const std::string& message) {
    GitOk(src_, {"add", "-A"});
    GitOk(src_, {"commit", "-q", "--allow-empty", "-m", message});
    return GitOk(src_, {"rev-parse", "HEAD"}).substr(0, 40);
  }

  RunResult Push(const std::vector<std::string>& options = {}) {
    std::vector<std::string> args = {"push"};
    for (const auto& option : options) {
      args.push_back("-o");
      args.push_back(option);
    }
    args.push_back(daemon_->Url("web.git"));
    args.push_back("main");
    return daemon_->Git(alice_, args, src_);
  }

  std::string DefaultTag(const std::string& unit, const std::string& commit) {
    return TagsFor(unit, commit, std::chrono::system_clock::now(), {}).default_tag;
  }

  // The units a push output says were built, in the order they succeeded.
  static std::vector<std::string> Built(const std::string& output) {
    std::vector<std::string> units;
    for (size_t at = output.find(") succeeded in"); at != std::string::npos;
         at = output.find(") succeeded in", at + 1)) {
      const size_t open = output.rfind('(', at);
      units.push_back(output.substr(open + 1, at - open - 1));
    }
    return units;
  }

  json Index(const std::string& tag) {
    return json::parse(registry_client_.GetManifest("tools", tag).body);
  }

  json BuildsJson() {
    const RunResult r = daemon_->Cli({"builds", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  TestRegistry registry_;
  RegistryClient registry_client_{registry_.url(), true};
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
};

TEST_F(CatalogTest, OnlyChangedUnitsBuildAndTagsFollowTheSeed) {
  Start();
  WriteUnit("alpha", "additional_tags: [stable]\n", "alpha 1");
  WriteUnit("beta", "", "beta 1");
  WriteUnit("tools/gamma", "", "gamma 1");
  const std::string first = Commit("three units");
  RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto built = Built(r.err);
  std::sort(built.begin(), built.end());
  EXPECT_EQ(built, (std::vector<std::string>{"alpha", "beta", "tools-gamma"})) << r.err;
  EXPECT_NE(r.err.find("a new branch builds every unit"), std::string::npos) << r.err;

  // Exactly the seed's tags, all in the one repository: default, one per
  // architecture, and the additional ones.
  std::vector<std::string> expected;
  for (const std::string unit : {"alpha", "beta", "tools-gamma"}) {
    const std::string tag = DefaultTag(unit, first);
    for (const std::string suffix : {"", "-amd64", "-arm64"}) expected.push_back(tag + suffix);
  }
  expected.push_back("alpha-stable");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(registry_client_.ListTags("tools"), expected);
  EXPECT_EQ(registry_client_.HeadManifest("tools", "alpha-stable"),
            registry_client_.HeadManifest("tools", DefaultTag("alpha", first)));

  // A change under beta builds beta alone.
  Write("beta/payload.txt", "beta 2\n");
  const std::string second = Commit("beta changes");
  r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Built(r.err), std::vector<std::string>{"beta"}) << r.err;
  EXPECT_NE(r.err.find("building beta (changed; 1 of 3 units)"), std::string::npos) << r.err;
  EXPECT_TRUE(registry_client_.HeadManifest("tools", DefaultTag("beta", second)));
  EXPECT_FALSE(registry_client_.HeadManifest("tools", DefaultTag("alpha", second)));

  // A change outside every unit builds nothing and is accepted.
  Write("README.md", "a catalog\n");
  Commit("docs");
  r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no unit changed on main"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing needed building"), std::string::npos) << r.err;
  EXPECT_TRUE(Built(r.err).empty());

  // rebuild=all builds every unit; platforms= narrows them to one.
  const std::string fourth = Commit("rebuild");
  r = Push({"rebuild=all", "platforms=linux/amd64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Built(r.err).size(), 3u) << r.err;
  const json index = Index(DefaultTag("tools-gamma", fourth));
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["platform"]["architecture"], "amd64");

  // rebuild= names units that did not change.
  Commit("named");
  r = Push({"rebuild=alpha"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Built(r.err), std::vector<std::string>{"alpha"}) << r.err;

  // Every build says what started it.
  for (const auto& build : BuildsJson()) EXPECT_EQ(build["triggered_by"], "push");
}

TEST_F(CatalogTest, MalformedConfigsRejectThePushListingEveryProblem) {
  Start();
  WriteUnit("good", "", "fine");
  WriteUnit("bad", "platforms: [linux/amd64, x86]\ncolour: blue\n", "bad");
  Write("worse/build-config.yaml", "dockerfile_path: /etc/passwd\nbuild_args: [NOEQUALS]\n");
  Write("rebuild-weekly.txt", "good\nnosuchunit\n");
  Commit("broken");
  const RunResult r = Push({"rebuild=ghost"});
  EXPECT_NE(r.exit_code, 0);
  for (const std::string problem : {
           "bad/build-config.yaml:1: platforms: invalid platform 'x86'",
           "bad/build-config.yaml:2: colour: unknown key",
           "worse/build-config.yaml:1: dockerfile_path: '/etc/passwd' is absolute",
           "worse/build-config.yaml:2: build_args: 'NOEQUALS' has no '='",
           "rebuild-weekly.txt:2: no unit 'nosuchunit'",
           "push option 'rebuild': no unit 'ghost'",
       }) {
    EXPECT_NE(r.err.find(problem), std::string::npos) << problem << "\n" << r.err;
  }
  EXPECT_NE(r.err.find("push refused, nothing was built"), std::string::npos) << r.err;
  EXPECT_TRUE(BuildsJson().empty());
  EXPECT_TRUE(registry_client_.ListTags("tools").empty());
}

TEST_F(CatalogTest, AUnitBuildsFromTheImageOfAnotherBuiltJustBefore) {
  Start();
  const std::string base_image = registry_.url() + "/tools:base-latest";
  WriteUnit("base", "additional_tags: [latest]\n", "base layer");
  WriteUnit("app", "", "app layer", base_image);
  WriteUnit("side", "depends_on: [app]\n", "side layer");
  const std::string commit = Commit("layered");
  RunResult r = Push({"platforms=linux/amd64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Built(r.err), (std::vector<std::string>{"base", "app", "side"})) << r.err;

  // app was built FROM the digest base had just been given, not a tag.
  const std::string base_digest = *registry_client_.HeadManifest("tools", "base-latest");
  EXPECT_NE(r.err.find("FROM " + base_image + " -> " + registry_.url() + "/tools@" + base_digest),
            std::string::npos)
      << r.err;
  const json app = Index(DefaultTag("app", commit));
  const json app_image = json::parse(
      registry_client_.GetManifest("tools", app["manifests"][0]["digest"].get<std::string>()).body);
  const json base_image_manifest = json::parse(
      registry_client_
          .GetManifest("tools", Index("base-latest")["manifests"][0]["digest"].get<std::string>())
          .body);
  ASSERT_EQ(app_image["layers"].size(), 2u);
  EXPECT_EQ(app_image["layers"][0]["digest"], base_image_manifest["layers"][0]["digest"]);

  // A change to base rebuilds what is built from it.
  Write("base/payload.txt", "base layer 2\n");
  Commit("base changes");
  r = Push({"platforms=linux/amd64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Built(r.err), (std::vector<std::string>{"base", "app", "side"})) << r.err;
}

TEST_F(CatalogTest, ACycleOfDependenciesIsRefusedNamingItsUnits) {
  Start();
  WriteUnit("a", "depends_on: [b]\n", "a");
  WriteUnit("b", "depends_on: [a]\n", "b");
  Commit("cycle");
  const RunResult r = Push();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cycle: a -> b -> a"), std::string::npos) << r.err;
  EXPECT_TRUE(BuildsJson().empty());
}

TEST_F(CatalogTest, AnUpstreamUnitBuildsTheUpstreamRefAndNamesItsSource) {
  Start("upstreams:\n  allow_local: true\n");
  const auto upstream = daemon_->dir() / "upstream";
  MakeRepo(upstream);
  CommitFile(upstream, "payload.txt", "upstream v1.0\n", "payload");
  CommitFile(upstream, "deploy/Dockerfile", CopyDockerfile("payload.txt"), "Dockerfile");
  GitOk(upstream, {"tag", "-a", "-m", "release", "v1.0"});
  const std::string released = GitOk(upstream, {"rev-parse", "v1.0^{commit}"}).substr(0, 40);
  CommitFile(upstream, "payload.txt", "unreleased\n", "after the release");

  const std::string url = "file://" + upstream.string();
  Write("kaniko/build-config.yaml", "upstream_repo: " + url +
                                        "\nupstream_ref: v1.0\ndockerfile_path: "
                                        "deploy/Dockerfile\nadditional_tags: [v1.0]\n");
  Commit("upstream unit");
  const RunResult r = Push({"platforms=linux/amd64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // Tagged with the upstream's commit, not the catalog's.
  const std::string tag = DefaultTag("kaniko", released);
  EXPECT_EQ(registry_client_.ListTags("tools"),
            (std::vector<std::string>{tag, tag + "-amd64", "kaniko-v1.0"}));
  const json index = Index("kaniko-v1.0");
  EXPECT_EQ(index["annotations"]["org.opencontainers.image.source"], url);
  EXPECT_EQ(index["annotations"]["org.opencontainers.image.revision"], released);
  const json build = BuildsJson()[0];
  EXPECT_EQ(build["source_url"], url);
  EXPECT_EQ(build["source_sha"], released);

  EXPECT_NE(r.err.find("building kaniko (build 1, " + url + " " + released.substr(0, 7) + ")"),
            std::string::npos)
      << r.err;
}

TEST_F(CatalogTest, AnIndexHoldsLinuxAndWebAssemblyImages) {
  Start();
  // The smallest valid module: magic and version.
  Write("hello/hello.wasm", std::string("\0asm\1\0\0\0", 8));
  Write("hello/build-config.yaml", "platforms: [linux/amd64, linux/arm64, wasi/wasm]\n");
  Write("hello/Dockerfile", CopyDockerfile("hello.wasm"));
  const std::string commit = Commit("wasm");
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json index = Index(DefaultTag("hello", commit));
  std::set<std::string> platforms;
  for (const auto& child : index["manifests"]) {
    platforms.insert(child["platform"]["os"].get<std::string>() + "/" +
                     child["platform"]["architecture"].get<std::string>());
  }
  EXPECT_EQ(platforms, (std::set<std::string>{"linux/amd64", "linux/arm64", "wasi/wasm"}));
  EXPECT_TRUE(registry_client_.HeadManifest("tools", DefaultTag("hello", commit) + "-wasi-wasm"));
}

TEST_F(CatalogTest, RebuildBuildsAgainWithoutAPushAndStreamsTheLog) {
  Start();
  WriteUnit("alpha", "", "alpha");
  WriteUnit("beta", "", "beta");
  Commit("two units");
  ASSERT_EQ(Push({"platforms=linux/amd64"}).exit_code, 0);

  RunResult r = daemon_->Cli({"rebuild", "web", "beta"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[linux/amd64] STEP 2/2: COPY payload.txt /payload.txt"), std::string::npos)
      << r.out;
  EXPECT_EQ(Built(r.out), std::vector<std::string>{"beta"}) << r.out;
  const json latest = BuildsJson()[0];
  EXPECT_EQ(latest["unit"], "beta");
  EXPECT_EQ(latest["triggered_by"], "manual");

  r = daemon_->Cli({"rebuild", "web", "ghost"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("rebuild: no unit 'ghost'"), std::string::npos) << r.out;
  r = daemon_->Cli({"rebuild", "nosuchapp"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no app 'nosuchapp'"), std::string::npos) << r.err;
}

TEST_F(CatalogTest, TheScheduleRebuildsListedUnits) {
  Start("builder:\n  rebuild_schedule: every 2s\n  platforms: [linux/amd64]\n");
  WriteUnit("alpha", "", "alpha");
  WriteUnit("beta", "", "beta");
  Write("rebuild-weekly.txt", "# weekly security rebuilds\nbeta\n");
  const std::string commit = Commit("listed");
  ASSERT_EQ(Push().exit_code, 0);
  ASSERT_TRUE(daemon_->WaitForLog("web: build 3 (beta) succeeded", std::chrono::seconds(60)))
      << daemon_->Log();
  const RunResult show = daemon_->Cli({"builds", "show", "3", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const json build = json::parse(show.out);
  EXPECT_EQ(build["unit"], "beta");
  EXPECT_EQ(build["triggered_by"], "schedule");
  EXPECT_EQ(build["status"], "succeeded");
  EXPECT_TRUE(registry_client_.HeadManifest("tools", DefaultTag("beta", commit)));
}

}  // namespace
}  // namespace hephy
