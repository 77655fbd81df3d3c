// libFuzzer target: the command an SSH client sends (exec requests), as
// hephyd splits it into words and reads git's commands from it. Bad input is
// an Error, never a crash or another exception.
#include "fuzz_input.h"
#include "git/git_command.h"
#include "hephy/error.h"
#include "ssh/command_words.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = hephy::Text(data, size);
  try {
    hephy::SplitCommandWords(text);
  } catch (const hephy::Error&) {
  }
  try {
    const auto command = hephy::ParseGitCommand(text);
    if (command.app.empty()) std::abort();
  } catch (const hephy::Error&) {
  }
  return 0;
}
