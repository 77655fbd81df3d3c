#include "upstream/upstream_cache.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "error_of.h"
#include "hephy/error.h"
#include "test_dir.h"
#include "util/hex.h"
#include "util/process.h"

namespace hephy {
namespace {

// Upstream repositories made with the real git in a temporary directory,
// reached by file:// URL.
class UpstreamCacheTest : public ::testing::Test {
 protected:
  UpstreamCacheTest() {
    std::filesystem::create_directories(upstream_);
    Git({"init", "-q", "-b", "main"});
    Commit("first");
    config_.allow_local = true;
  }

  // `git -C upstream ARGS`; its first line of output.
  std::string Git(const std::vector<std::string>& args) {
    SpawnOptions options;
    options.argv = {"git", "-C", upstream_.string()};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = std::vector<std::string>{"PATH=/usr/bin:/bin",
                                           "HOME=" + dir_.path().string(),
                                           "GIT_CONFIG_NOSYSTEM=1",
                                           "GIT_AUTHOR_NAME=T",
                                           "GIT_AUTHOR_EMAIL=t@example.invalid",
                                           "GIT_COMMITTER_NAME=T",
                                           "GIT_COMMITTER_EMAIL=t@example.invalid"};
    const RunResult r = hephy::Run(options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  // A new commit on the current branch; its id.
  std::string Commit(const std::string& message) {
    std::ofstream(upstream_ / "file") << message << "\n";
    Git({"add", "file"});
    Git({"commit", "-q", "-m", message});
    return Git({"rev-parse", "HEAD"});
  }

  UpstreamCache::Resolved Resolve(const std::string& ref) {
    return cache().Resolve(url(), ref, [this](const std::string& line) { lines_.push_back(line); });
  }

  UpstreamCache& cache() {
    if (!cache_) cache_ = std::make_unique<UpstreamCache>(dir_.path() / "upstreams", config_);
    return *cache_;
  }

  std::string url() const { return "file://" + upstream_.string(); }

  TestDir dir_;
  std::filesystem::path upstream_ = dir_.path() / "upstream";
  UpstreamsConfig config_;
  std::unique_ptr<UpstreamCache> cache_;
  std::vector<std::string> lines_;  // what progress got
};

TEST_F(UpstreamCacheTest, ResolvesALightweightTag) {
  const std::string tagged = Git({"rev-parse", "HEAD"});
  Git({"tag", "v1.0.0"});
  Commit("after the tag");
  const auto resolved = Resolve("v1.0.0");
  EXPECT_EQ(resolved.commit, tagged);
  EXPECT_EQ(resolved.display_url, url());
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(lines_[0], "fetching " + url() + " (v1.0.0)");
  EXPECT_TRUE(lines_[1].starts_with("fetched " + url() + ": ")) << lines_[1];
}

TEST_F(UpstreamCacheTest, ACancelledFetchStopsAndCanBeRetried) {
  std::stop_source cancel;
  cancel.request_stop();
  try {
    cache().Resolve(url(), "main", {}, cancel.get_token());
    FAIL() << "a cancelled fetch resolved";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), url() + ": cannot fetch 'main': cancelled");
  }
  EXPECT_EQ(Resolve("main").commit, Git({"rev-parse", "HEAD"}));
}

TEST_F(UpstreamCacheTest, PeelsAnAnnotatedTagToItsCommit) {
  const std::string tagged = Git({"rev-parse", "HEAD"});
  Git({"tag", "-a", "v2.0.0", "-m", "release"});
  ASSERT_NE(Git({"rev-parse", "v2.0.0"}), tagged);  // the tag object
  EXPECT_EQ(Resolve("v2.0.0").commit, tagged);
}

TEST_F(UpstreamCacheTest, ResolvesABranchWithASlash) {
  Git({"checkout", "-q", "-b", "release/1.x"});
  const std::string head = Commit("on the release branch");
  Git({"checkout", "-q", "main"});
  EXPECT_EQ(Resolve("release/1.x").commit, head);
}

TEST_F(UpstreamCacheTest, ResolvesAFullCommitId) {
  const std::string older = Git({"rev-parse", "HEAD"});
  Commit("second");
  EXPECT_EQ(Resolve(older).commit, older);
}

TEST_F(UpstreamCacheTest, MirrorIsABareRepositoryNamedByTheUrlsHash) {
  const auto resolved = Resolve("main");
  EXPECT_EQ(resolved.mirror, dir_.path() / "upstreams" / (Sha256Hex(url()).substr(0, 16) + ".git"));
  EXPECT_TRUE(std::filesystem::is_directory(resolved.mirror / "objects"));
  EXPECT_FALSE(std::filesystem::exists(resolved.mirror / ".git"));
  // Nothing but mirrors (no temporary directory) is left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path() / "upstreams"),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(UpstreamCacheTest, PresentCommitIsNotFetchedAgain) {
  const std::string commit = Git({"rev-parse", "HEAD"});
  ASSERT_EQ(Resolve(commit).commit, commit);
  ASSERT_FALSE(lines_.empty());
  lines_.clear();
  // Without the upstream any fetch fails, as the branch shows.
  std::filesystem::rename(upstream_, dir_.path() / "gone");
  EXPECT_EQ(Resolve(commit).commit, commit);
  EXPECT_TRUE(lines_.empty());
  const std::string error = ErrorOf([&] { Resolve("main"); });
  EXPECT_EQ(error.substr(0, url().size() + 23), url() + ": cannot fetch 'main': ") << error;
}

TEST_F(UpstreamCacheTest, InsteadOfInTheMirrorsConfigIsNotApplied) {
  // The URL fetched is the one the unit names (and the egress policy
  // checked), whatever url.*.insteadOf the mirror's git config says.
  const auto first = Resolve("main");
  const std::filesystem::path other = dir_.path() / "other";
  const std::string decoy = Git({"rev-parse", "HEAD"});
  Git({"clone", "-q", "--bare", upstream_.string(), other.string()});
  Git({"config", "--file", (first.mirror / "config").string(),
       "url.file://" + other.string() + ".insteadOf", url()});
  const std::string head = Commit("second");
  ASSERT_NE(head, decoy);
  EXPECT_EQ(Resolve("main").commit, head);
}

TEST_F(UpstreamCacheTest, MovedBranchIsFetchedAgain) {
  const std::string first = Git({"rev-parse", "HEAD"});
  EXPECT_EQ(Resolve("main").commit, first);
  const std::string second = Commit("second");
  EXPECT_EQ(Resolve("main").commit, second);
  // Rewritten history too: the refspecs force.
  Git({"reset", "-q", "--hard", first});
  const std::string rewritten = Commit("rewritten");
  EXPECT_EQ(Resolve("main").commit, rewritten);
}

TEST_F(UpstreamCacheTest, DeletedBranchesAndTagsArePruned) {
  Git({"branch", "feature"});
  Git({"tag", "v1"});
  ASSERT_NO_THROW(Resolve("feature"));
  ASSERT_NO_THROW(Resolve("v1"));
  Git({"branch", "-q", "-D", "feature"});
  Git({"tag", "-d", "v1"});
  EXPECT_EQ(ErrorOf([&] { Resolve("feature"); }),
            url() + ": ref 'feature' not found (no such tag, branch or commit)");
  EXPECT_EQ(ErrorOf([&] { Resolve("v1"); }),
            url() + ": ref 'v1' not found (no such tag, branch or commit)");
}

TEST_F(UpstreamCacheTest, UnknownRefsAreErrors) {
  EXPECT_EQ(ErrorOf([&] { Resolve("v9"); }),
            url() + ": ref 'v9' not found (no such tag, branch or commit)");
  const std::string missing(40, 'a');
  EXPECT_EQ(ErrorOf([&] { Resolve(missing); }),
            url() + ": commit " + missing +
                " not found (no branch or tag of the upstream repository reaches it)");
  EXPECT_EQ(ErrorOf([&] { Resolve("bad..ref"); }),
            url() + ": invalid ref 'bad..ref' (expected a tag, a branch or a full commit id)");
  EXPECT_EQ(ErrorOf([&] { Resolve(""); }),
            url() + ": invalid ref '' (expected a tag, a branch or a full commit id)");
}

TEST_F(UpstreamCacheTest, RefusedUrlsAreNamedWithoutTheirCredentials) {
  EXPECT_EQ(ErrorOf([&] { cache().Resolve("https://u:s3cret@host.example/x.git", "v1", {}); }),
            "https://***@host.example/x.git: carries a password; put credentials in the file "
            "named by upstreams.credentials_file instead");
  EXPECT_EQ(ErrorOf([&] { cache().Resolve("ftp://host.example/x.git", "v1", {}); }),
            "ftp://host.example/x.git: unsupported scheme 'ftp' (expected https, http, ssh, git "
            "or file)");
}

TEST_F(UpstreamCacheTest, LocalUpstreamsNeedAllowLocal) {
  config_.allow_local = false;
  EXPECT_EQ(ErrorOf([&] { Resolve("main"); }),
            url() + ": local upstream repositories are not allowed (upstreams.allow_local)");
  EXPECT_EQ(
      ErrorOf([&] { cache().Resolve(upstream_.string(), "main", {}); }),
      upstream_.string() + ": local upstream repositories are not allowed (upstreams.allow_local)");
}

TEST_F(UpstreamCacheTest, RemovesWhatACrashLeftInTheDirectory) {
  std::filesystem::create_directories(dir_.path() / "upstreams" / "tmp-abc123" / "objects");
  cache();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "upstreams" / "tmp-abc123"));
}

TEST_F(UpstreamCacheTest, ConcurrentResolvesOfOneUrlAgree) {
  const std::string head = Git({"rev-parse", "HEAD"});
  Git({"tag", "v1"});
  // A second upstream, fetched at the same time on its own mirror.
  const auto other = dir_.path() / "other";
  std::filesystem::copy(upstream_, other, std::filesystem::copy_options::recursive);
  UpstreamCache& shared = cache();
  constexpr int kThreads = 8;
  std::vector<std::string> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const std::string target = i % 2 == 0 ? url() : "file://" + other.string();
      try {
        results[i] = shared.Resolve(target, i % 4 < 2 ? "main" : "v1", {}).commit;
      } catch (const Error& e) {
        results[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& result : results) EXPECT_EQ(result, head);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path() / "upstreams"),
                          std::filesystem::directory_iterator()),
            2);
}

}  // namespace
}  // namespace hephy
