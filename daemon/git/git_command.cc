#include "git/git_command.h"

#include <vector>

#include "hephy/error.h"
#include "util/names.h"

namespace hephy {
namespace {

// Splits on spaces only; tabs, newlines and other control characters are
// never part of a valid command and are rejected below.
std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

std::string_view Unquote(std::string_view arg) {
  if (arg.size() >= 2 && (arg.front() == '\'' || arg.front() == '"') && arg.back() == arg.front()) {
    return arg.substr(1, arg.size() - 2);
  }
  return arg;
}

}  // namespace

const char* ServiceName(GitService service) {
  return service == GitService::kReceivePack ? "git-receive-pack" : "git-upload-pack";
}

GitCommand ParseGitCommand(std::string_view command) {
  for (char c : command) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw Error("invalid command: control characters are not allowed");
    }
  }
  auto words = Words(command);
  if (words.size() >= 2 && words[0] == "git" &&
      (words[1] == "receive-pack" || words[1] == "upload-pack")) {
    words.erase(words.begin());  // "git receive-pack" -> "receive-pack"
    words[0] = words[0] == "receive-pack" ? "git-receive-pack" : "git-upload-pack";
  }
  if (words.empty()) throw Error("no command given; hephyd serves git push and git fetch");
  GitService service;
  if (words[0] == "git-receive-pack") {
    service = GitService::kReceivePack;
  } else if (words[0] == "git-upload-pack") {
    service = GitService::kUploadPack;
  } else {
    throw Error("unknown command '" + std::string(words[0].substr(0, 60)) +
                "'; hephyd serves git-receive-pack and git-upload-pack");
  }
  if (words.size() != 2) {
    throw Error(std::string(ServiceName(service)) + " takes exactly one repository argument");
  }

  std::string_view path = Unquote(words[1]);
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.ends_with('/')) path.remove_suffix(1);
  if (path.ends_with(".git")) path.remove_suffix(4);
  ValidateAppName(path);
  return GitCommand{service, std::string(path)};
}

}  // namespace hephy
