// HEAD of an app's bare repository names a branch that exists once a push is
// in: a repository made with HEAD on builder.branches' first branch, pushed
// only other branches, would otherwise leave HEAD dangling, and every clone
// would check out nothing.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "git/push_request.h"

namespace hephy {

// The branch ("refs/heads/NAME") HEAD should name once `updates` are made to
// a repository whose branches are `branches` and whose HEAD names `head`:
// nullopt when `head` will exist (or no branch will). Else refs/heads/main,
// then refs/heads/master, then the first branch `updates` creates or moves,
// then the first remaining branch by name.
std::optional<std::string> HeadAfterPush(const std::string& head,
                                         const std::set<std::string>& branches,
                                         const std::vector<RefUpdate>& updates);

// Points HEAD of the bare repository `repo` at HeadAfterPush's branch, if
// any, before git makes `updates` (from the pre-receive hook of a push
// hephyd accepts). Returns the branch it now names, or nullopt when HEAD was
// left alone. Throws Error when the repository cannot be read or written.
std::optional<std::string> KeepHeadOnABranch(const std::filesystem::path& repo,
                                             const std::vector<RefUpdate>& updates);

}  // namespace hephy
