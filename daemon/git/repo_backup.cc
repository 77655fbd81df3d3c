#include "git/repo_backup.h"

#include <filesystem>

#include "git/repo_store.h"
#include "hephy/error.h"
#include "util/process.h"

namespace hephy {
namespace {

namespace fs = std::filesystem;

// git ARGS in `repo`, which must succeed; its output.
std::string Git(const fs::path& repo, std::vector<std::string> args) {
  std::vector<std::string> argv = {"git", "--git-dir=" + repo.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r =
      Run({.argv = argv, .pipe_stdout = true, .pipe_stderr = true}, "", std::chrono::hours(6));
  if (r.exit_code != 0) {
    std::string message = r.err;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw Error(repo.string() + ": git " + args.front() + " failed" +
                (r.timed_out ? " (timed out)" : "") + ": " + message);
  }
  return r.out;
}

void CopyFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(from.string() + ": cannot copy to " + to.string() + ": " + ec.message());
}

}  // namespace

bool BackUpRepository(const fs::path& repo, const fs::path& dir) {
  CopyFile(repo / "HEAD", dir / "HEAD");
  CopyFile(repo / "config", dir / "config");
  // git refuses to bundle no refs; a repository made by a push that was
  // rejected has none.
  if (Git(repo, {"for-each-ref", "--count=1", "--format=%(refname)"}).empty()) return false;
  Git(repo, {"bundle", "create", "-q", (dir / "repo.bundle").string(), "--all"});
  return true;
}

void RestoreRepository(const RepoStore& repos, const std::string& app, const fs::path& dir) {
  const fs::path repo = repos.Prepare(app);
  CopyFile(dir / "HEAD", repo / "HEAD");
  CopyFile(dir / "config", repo / "config");
  if (!fs::exists(dir / "repo.bundle")) return;
  // Every ref as it was (not only branches); git checks that the bundle's
  // objects are complete before it writes a ref.
  Git(repo,
      {"fetch", "-q", "--no-write-fetch-head", (dir / "repo.bundle").string(), "refs/*:refs/*"});
}

}  // namespace hephy
