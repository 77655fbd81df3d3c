// One bare repository in a backup, as a git bundle: `git bundle create
// --all` reads the refs first and then packs every object they reach, so
// each ref of the bundle has its objects, whatever pushes or `git gc` do to
// the repository meanwhile. A repository without refs has no bundle. HEAD
// and config are kept beside it; hooks are not (restore installs this
// installation's).
#pragma once

#include <filesystem>

namespace hephy {

class RepoStore;

// Writes `dir`/repo.bundle (unless the repository has no refs), `dir`/HEAD
// and `dir`/config for the bare repository `repo`; `dir` must exist.
// Returns whether a bundle was written. Throws Error naming the repository
// and git's message.
bool BackUpRepository(const std::filesystem::path& repo, const std::filesystem::path& dir);

// Makes the repository of `app` from what BackUpRepository wrote in `dir`:
// created through `repos` (so its hook is this installation's hephy-hook),
// then HEAD and config, then every ref and object of the bundle. Throws
// Error naming the repository and git's message.
void RestoreRepository(const RepoStore& repos, const std::string& app,
                       const std::filesystem::path& dir);

}  // namespace hephy
