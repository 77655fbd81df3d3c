// The exec request of an SSH session: which git service on which app.
#pragma once

#include <string>
#include <string_view>

namespace hephy {

enum class GitService { kReceivePack, kUploadPack };

struct GitCommand {
  GitService service;
  std::string app;  // valid per ValidateAppName
};

// Accepts what git clients send: "git-receive-pack 'app.git'" and
// "git-upload-pack", also spelled "git receive-pack"; the path quoted or not,
// with or without a leading '/' and a trailing ".git". Throws Error with the
// message shown to the client for anything else (unknown commands, options,
// extra words, quoting tricks, invalid app names).
GitCommand ParseGitCommand(std::string_view command);

// "git-receive-pack" or "git-upload-pack".
const char* ServiceName(GitService service);

}  // namespace hephy
