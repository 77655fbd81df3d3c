// `hephyd prune` through real pushes: old build records and their logs go,
// old dated images go from the registry with their per-architecture
// manifests and tags, while the newest and whatever an additional tag names
// stay; --dry-run changes nothing; every prune leaves an audit row; the
// embedded registry's garbage collection frees its blobs and it serves on.
// Real hephyd, ssh, git, buildah and docker-registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "build/image_tags.h"
#include "hephy/registry_client.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Text that compresses poorly, as image layers are gzipped.
std::string RandomText(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string text(size, ' ');
  for (auto& c : text) c = static_cast<char>('!' + random() % 90);
  return text;
}

uint64_t BytesUnder(const std::filesystem::path& dir) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

class PruneTest : public ::testing::Test {
 protected:
  // Pushes go to `registry_url` ("" for hephyd's embedded registry).
  void Start(const std::string& registry_url, const std::string& retention) {
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  platforms: [linux/amd64]\nretention:\n" + retention, registry_url);
    alice_ = daemon_->AddUser("alice");
    root_ = daemon_->AddUser("root", true);
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  // A commit whose image holds hello.txt saying `greeting`, tagged with
  // `additional` besides its dated tag; pushed. Returns its dated tag.
  std::string PushImage(const std::string& greeting, const std::string& additional) {
    std::ofstream(src_ / "hello.txt") << greeting << "\n";
    std::ofstream(src_ / "build-config.yaml") << "additional_tags: [" << additional << "]\n";
    GitOk(src_, {"add", "hello.txt", "build-config.yaml"});
    CommitFile(src_, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n",
               "image " + std::to_string(++images_));
    const RunResult pushed = daemon_->Git(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
    EXPECT_EQ(pushed.exit_code, 0) << pushed.err;
    const std::string commit = GitOk(src_, {"rev-parse", "HEAD"}).substr(0, 40);
    return TagsFor("web", commit, std::chrono::system_clock::now(), {}).default_tag;
  }

  std::vector<int64_t> BuildIds() {
    const RunResult r = daemon_->Cli({"builds", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<int64_t> ids;
    for (const auto& build : json::parse(r.out)) ids.push_back(build["id"].get<int64_t>());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::vector<json> PruneAudit() {
    const RunResult r = daemon_->Cli({"audit", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<json> rows;
    for (const auto& row : json::parse(r.out)) {
      if (row["action"] == "prune") rows.push_back(row);
    }
    return rows;
  }

  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_, root_;
  std::filesystem::path src_;
  int images_ = 0;
};

TEST_F(PruneTest, RemovesOldBuildsAndImagesButNeverWhatATagStillNames) {
  TestRegistry registry;
  Start(registry.url(), "  builds_days: 0\n  builds_keep: 2\n  images_keep: 2\n  daily: false\n");
  // web-v1 names the first image only; web-latest moves to each new one.
  const std::string first = PushImage("one", "v1");
  const std::string second = PushImage("two", "latest");
  const std::string third = PushImage("three", "latest");
  const std::string fourth = PushImage("four", "latest");
  ASSERT_EQ(BuildIds(), (std::vector<int64_t>{1, 2, 3, 4}));

  RegistryClient client(registry.url(), true);
  const auto tags_before = client.ListTags("web");
  for (const auto& tag : {first, second, third, fourth}) {
    ASSERT_TRUE(std::count(tags_before.begin(), tags_before.end(), tag)) << tag;
    ASSERT_TRUE(std::count(tags_before.begin(), tags_before.end(), tag + "-amd64")) << tag;
  }
  const auto second_index = client.GetManifest("web", second);
  const std::string second_amd64 =
      json::parse(second_index.body)["manifests"][0]["digest"].get<std::string>();
  const auto latest = client.HeadManifest("web", "web-latest");
  const auto v1 = client.HeadManifest("web", "web-v1");
  ASSERT_TRUE(latest && v1);
  const auto logs = daemon_->data_dir() / "logs";
  ASSERT_TRUE(std::filesystem::exists(logs / "1"));

  // A dry run says what would go and changes nothing.
  const RunResult dry = daemon_->Cli({"prune", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_TRUE(Has(dry.out, "would delete build 1 (web, succeeded")) << dry.out;
  EXPECT_TRUE(Has(dry.out, "would delete build 2 (web, succeeded")) << dry.out;
  EXPECT_FALSE(Has(dry.out, "build 3 ")) << dry.out;
  EXPECT_TRUE(Has(dry.out, "would delete image web:" + second + " (2 manifests)")) << dry.out;
  EXPECT_TRUE(Has(dry.out,
                  "kept image web:" + first + " beyond retention.images_keep: tag web-v1 names it"))
      << dry.out;
  EXPECT_TRUE(Has(dry.out, "would prune 2 builds")) << dry.out;
  EXPECT_EQ(client.ListTags("web"), tags_before);
  EXPECT_EQ(BuildIds(), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(std::filesystem::exists(logs / "1"));
  EXPECT_TRUE(PruneAudit().empty());

  // Only admins prune, over SSH too.
  const RunResult denied = daemon_->Ssh(alice_, "prune --dry-run");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_TRUE(Has(denied.err, "alice may not prune (admins only)")) << denied.err;

  const RunResult pruned = daemon_->Ssh(root_, "prune");
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_TRUE(Has(pruned.out, "deleted image web:" + second + " (2 manifests)")) << pruned.out;
  EXPECT_TRUE(Has(pruned.out, "pruned 2 builds")) << pruned.out;

  // The second image is gone, index, arch manifest and tags; the first
  // (web-v1's), the two newest and web-latest stay, by the same digests.
  const auto tags_after = client.ListTags("web");
  for (const auto& tag : {second, second + "-amd64"}) {
    EXPECT_FALSE(std::count(tags_after.begin(), tags_after.end(), tag)) << tag;
  }
  for (const auto& tag : {first, third, fourth}) {
    EXPECT_TRUE(std::count(tags_after.begin(), tags_after.end(), tag)) << tag;
    EXPECT_TRUE(std::count(tags_after.begin(), tags_after.end(), tag + "-amd64")) << tag;
  }
  EXPECT_FALSE(client.HeadManifest("web", second_index.digest));
  EXPECT_FALSE(client.HeadManifest("web", second_amd64));
  EXPECT_EQ(client.HeadManifest("web", "web-latest"), latest);
  EXPECT_EQ(client.HeadManifest("web", "web-v1"), v1);
  for (const auto& child : json::parse(client.GetManifest("web", *latest).body)["manifests"]) {
    EXPECT_TRUE(client.HeadManifest("web", child["digest"].get<std::string>()));
  }

  // Builds 1 and 2 and their logs are gone; 3 and 4 stay.
  EXPECT_EQ(BuildIds(), (std::vector<int64_t>{3, 4}));
  EXPECT_FALSE(std::filesystem::exists(logs / "1"));
  EXPECT_FALSE(std::filesystem::exists(logs / "2"));
  EXPECT_TRUE(std::filesystem::exists(logs / "3"));

  const auto audit = PruneAudit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["actor"], "root");
  EXPECT_TRUE(Has(audit[0]["detail"].get<std::string>(), "2 builds")) << audit[0].dump();
  EXPECT_TRUE(Has(audit[0]["detail"].get<std::string>(), "1 image (2 manifests)"))
      << audit[0].dump();

  // Nothing is left to prune.
  const RunResult again = daemon_->Cli({"prune", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const json report = json::parse(again.out);
  EXPECT_EQ(report["builds"], 0);
  EXPECT_EQ(report["images"], 0);
  EXPECT_EQ(PruneAudit().size(), 2u);
}

TEST_F(PruneTest, EmbeddedRegistryCollectsItsGarbageAndServesOn) {
  Start("", "  builds_keep: 1\n  images_keep: 1\n  daily: false\n");
  for (unsigned seed = 1; seed <= 3; ++seed) PushImage(RandomText(256 * 1024, seed), "latest");
  const auto storage = daemon_->data_dir() / "registry" / "data";
  const uint64_t before = BytesUnder(storage);

  const RunResult pruned = daemon_->Cli({"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_TRUE(Has(pruned.out, "collected the embedded registry's garbage")) << pruned.out;
  // Two images of a quarter MiB each (compressed to little less) are gone.
  EXPECT_LT(BytesUnder(storage) + 2 * 200 * 1024, before);
  // Builds are younger than 90 days: their records stay.
  EXPECT_TRUE(Has(pruned.out, "pruned 0 builds")) << pruned.out;

  // The registry serves again: the next push goes through.
  PushImage("after", "latest");
  const RunResult shown = daemon_->Cli({"builds", "show", "4", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(json::parse(shown.out)["status"], "succeeded");
}

}  // namespace
}  // namespace hephy
