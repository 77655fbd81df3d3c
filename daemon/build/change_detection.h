// Which units a push changed: a libgit2 diff of the old and new commits'
// trees, matched against each unit's directory, in-tree context and
// Dockerfile.
#pragma once

#include <string>
#include <vector>

#include "build/build_units.h"

struct git_repository;

namespace hephy {

// Every path that differs between the trees of `old_commit` and
// `new_commit`; a rename gives both its paths. Throws Error naming a
// commit that cannot be read.
std::vector<std::string> ChangedPaths(git_repository* repo, const std::string& old_commit,
                                      const std::string& new_commit);

// Whether any of `paths` lies under the unit's directory, under its in-tree
// context, or is its Dockerfile. An upstream unit changes only with its
// directory (its build-config.yaml names what to fetch).
bool UnitChanged(const BuildUnit& unit, const std::vector<std::string>& paths);

}  // namespace hephy
