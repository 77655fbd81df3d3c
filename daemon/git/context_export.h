// A build context: the tree of a pushed commit written out as plain files,
// straight from git's objects (no checkout, no work tree in the repository).
#pragma once

#include <filesystem>
#include <string>

#include "git/quarantine_repo.h"

struct git_repository;

namespace hephy {

// Writes the tree at `subdir` of commit `commit_id` of `repo` into `dest`,
// as below; "" (or ".") is the commit's root tree. `subdir` is a relative
// path of '/'-separated names; links inside it must stay inside it, as
// `dest` becomes the whole build context. Throws Error naming `subdir` when
// it does not exist in the commit or is not a directory, and naming the
// commit when `repo` does not hold it. `repo` is only read, by this thread.
void ExportTree(git_repository* repo, const std::string& commit_id, const std::string& subdir,
                const std::filesystem::path& dest);

// Writes the tree of `commit_id` into `dest`, which must not exist yet.
// Regular files keep their mode (0644 or 0755); symbolic links are kept when
// they point inside the tree, as the kernel would resolve them. Throws Error
// naming the path for a link that is absolute or leads outside the tree, and
// for a submodule (not supported); `dest` is removed then.
void ExportTree(const QuarantineRepo& repo, const std::string& commit_id,
                const std::filesystem::path& dest);

}  // namespace hephy
