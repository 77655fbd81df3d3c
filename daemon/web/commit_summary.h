// Who wrote a pushed commit and what they said, read from the app's bare
// repository for the build page.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "web/web_pages.h"

namespace hephy {

// The author ("Name <email>") and whole message of `commit_id` in the bare
// repository `repo`; nullopt when either is missing (a pruned commit, an
// app without a repository): the page then shows the build without them.
std::optional<CommitSummary> ReadCommitSummary(const std::filesystem::path& repo,
                                               const std::string& commit_id);

}  // namespace hephy
