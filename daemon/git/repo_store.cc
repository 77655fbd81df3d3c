#include "git/repo_store.h"

#include <unistd.h>

#include <mutex>
#include <system_error>

#include "git/libgit2.h"
#include "hephy/error.h"

namespace hephy {
namespace {

void SetConfig(git_repository* repo, const std::filesystem::path& path) {
  git_config* raw = nullptr;
  if (git_repository_config(&raw, repo) != 0) git::Throw(path.string() + ": cannot open config");
  const git::Owned<git_config, git_config_free> config(raw);
  // Every object a client sends is checked before it is stored; the build
  // (next in the hook) then reads only well-formed trees.
  // hephyd keeps HEAD on a branch that exists (git/repo_head.h), so the
  // branch HEAD names may be deleted like any other: HEAD then moves to
  // one that remains.
  if (git_config_set_bool(config.get(), "receive.fsckObjects", 1) != 0 ||
      git_config_set_bool(config.get(), "receive.advertisePushOptions", 1) != 0 ||
      git_config_set_string(config.get(), "receive.denyDeleteCurrent", "ignore") != 0) {
    git::Throw(path.string() + ": cannot write config");
  }
}

// Points hooks/pre-receive at the hook program, replacing whatever is there
// atomically (rename over), so a concurrent push never sees no hook.
void InstallHook(const std::filesystem::path& repo, const std::filesystem::path& program) {
  const auto hook = repo / "hooks" / "pre-receive";
  std::error_code ec;
  if (std::filesystem::read_symlink(hook, ec) == program) return;
  std::filesystem::create_directories(repo / "hooks");
  const auto temp = repo / "hooks" / (".pre-receive." + std::to_string(getpid()));
  std::filesystem::remove(temp, ec);
  std::filesystem::create_symlink(program, temp, ec);
  if (ec) throw Error(hook.string() + ": cannot install hook: " + ec.message());
  std::filesystem::rename(temp, hook, ec);
  if (ec) throw Error(hook.string() + ": cannot install hook: " + ec.message());
}

}  // namespace

RepoStore::RepoStore(std::filesystem::path repos_dir, std::filesystem::path hook_program,
                     std::string initial_branch)
    : repos_dir_(std::move(repos_dir)),
      hook_program_(std::move(hook_program)),
      initial_branch_(std::move(initial_branch)) {
  git::Init();
}

std::filesystem::path RepoStore::PathFor(const std::string& app) const {
  return repos_dir_ / (app + ".git");
}

bool RepoStore::Exists(const std::string& app) const {
  return std::filesystem::exists(PathFor(app) / "HEAD");
}

std::filesystem::path RepoStore::Prepare(const std::string& app) const {
  // Serialised: two first pushes to one new app must not both initialise it.
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  const auto path = PathFor(app);
  if (!Exists(app)) {
    git_repository_init_options options = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    options.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
    const std::string head = "refs/heads/" + initial_branch_;
    options.initial_head = head.c_str();
    git_repository* raw = nullptr;
    if (git_repository_init_ext(&raw, path.c_str(), &options) != 0) {
      git::Throw(path.string() + ": cannot create repository");
    }
    const git::Owned<git_repository, git_repository_free> repo(raw);
    SetConfig(repo.get(), path);
  }
  InstallHook(path, hook_program_);
  return path;
}

std::filesystem::path HookProgramBesideExecutable() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto hook = self.parent_path() / "hephy-hook";
  if (ec || !std::filesystem::exists(hook)) {
    throw Error(hook.string() + ": hephy-hook not found beside hephyd; install both together");
  }
  return hook;
}

}  // namespace hephy
