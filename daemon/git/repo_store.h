// Bare git repositories, one per app, under data_dir/repos/<app>.git.
#pragma once

#include <filesystem>
#include <string>

namespace hephy {

class RepoStore {
 public:
  // `hook_program` is the hephy-hook binary every repository's pre-receive
  // hook points at; `initial_branch` becomes HEAD of new repositories.
  RepoStore(std::filesystem::path repos_dir, std::filesystem::path hook_program,
            std::string initial_branch);

  // The repository path of a valid app name (see names.h); not checked here.
  std::filesystem::path PathFor(const std::string& app) const;
  bool Exists(const std::string& app) const;

  // Creates the bare repository if it is missing (libgit2; HEAD on the initial
  // branch; receive.fsckObjects and receive.advertisePushOptions on,
  // receive.denyDeleteCurrent ignore) and makes
  // sure its pre-receive hook is hephy-hook. Safe to call on every push, from
  // several threads. Throws Error.
  std::filesystem::path Prepare(const std::string& app) const;

 private:
  std::filesystem::path repos_dir_;
  std::filesystem::path hook_program_;
  std::string initial_branch_;
};

// hephy-hook installed beside the running hephyd (same directory). Throws
// Error naming the path when it is missing.
std::filesystem::path HookProgramBesideExecutable();

}  // namespace hephy
