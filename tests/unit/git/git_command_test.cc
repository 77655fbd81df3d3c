#include "git/git_command.h"

#include <gtest/gtest.h>

#include "hephy/error.h"

namespace hephy {
namespace {

TEST(GitCommand, AcceptsTheFormsGitClientsSend) {
  const std::pair<const char*, GitService> cases[] = {
      {"git-receive-pack 'myapp.git'", GitService::kReceivePack},
      {"git-receive-pack '/myapp.git'", GitService::kReceivePack},
      {"git-receive-pack myapp", GitService::kReceivePack},
      {"git-receive-pack '/myapp'", GitService::kReceivePack},
      {"git receive-pack 'myapp.git'", GitService::kReceivePack},
      {"git-upload-pack 'myapp.git'", GitService::kUploadPack},
      {"git-upload-pack \"/myapp.git/\"", GitService::kUploadPack},
      {"git upload-pack myapp.git", GitService::kUploadPack},
  };
  for (const auto& [text, service] : cases) {
    const GitCommand command = ParseGitCommand(text);
    EXPECT_EQ(command.service, service) << text;
    EXPECT_EQ(command.app, "myapp") << text;
  }
}

std::string ErrorOf(const std::string& text) {
  try {
    ParseGitCommand(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(GitCommand, RefusesHostileAndUnknownCommands) {
  const char* hostile[] = {
      "git-receive-pack '../x.git'",
      "git-receive-pack '/srv/repos/x.git'",
      "git-receive-pack '-oProxyCommand=id'",
      "git-upload-pack --upload-pack=id x",
      "git-receive-pack 'my app.git'",
      "git-receive-pack 'x.git'; rm -rf /",
      "git-receive-pack '$(id).git'",
      "git-receive-pack `id`",
      "git-receive-pack 'x'\"y\"",
      "git-receive-pack x\ny",
      "git-receive-pack",
      "git-upload-archive 'x.git'",
      "ls",
      "sh -c id",
      "",
      "git-receive-pack 'x.git' extra",
  };
  for (const char* text : hostile) {
    EXPECT_NE(ErrorOf(text), "accepted") << text;
  }
}

TEST(GitCommand, MessagesSayWhatIsWrong) {
  EXPECT_EQ(ErrorOf("ls -la"),
            "unknown command 'ls'; hephyd serves git-receive-pack and git-upload-pack");
  EXPECT_EQ(ErrorOf("git-receive-pack a b"),
            "git-receive-pack takes exactly one repository argument");
  EXPECT_EQ(ErrorOf("git-receive-pack '../x'").substr(0, 30), "invalid app name '../x': use 1");
  EXPECT_EQ(ErrorOf("git-receive-pack 'a\tb'"),
            "invalid command: control characters are not allowed");
}

}  // namespace
}  // namespace hephy
