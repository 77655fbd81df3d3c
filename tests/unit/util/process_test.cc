#include "util/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "hephy/error.h"

namespace hephy {
namespace {

TEST(Process, RunsArgvWithoutAShell) {
  // Were this passed through a shell, `$(echo x)` would be expanded.
  const RunResult r = hephy::Run({.argv = {"echo", "$(echo x); true"}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "$(echo x); true\n");
}

TEST(Process, FeedsStdinAndCollectsBothOutputs) {
  const RunResult r =
      hephy::Run({.argv = {"sh", "-c", "cat; echo oops >&2; exit 3"}}, std::string(300000, 'a'));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out.size(), 300000u);
  EXPECT_EQ(r.err, "oops\n");
}

TEST(Process, StderrToStdoutKeepsTheOrderOfOneStream) {
  const RunResult r = hephy::Run(
      {.argv = {"sh", "-c", "echo one; echo two >&2; echo three"}, .stderr_to_stdout = true});
  EXPECT_EQ(r.out, "one\ntwo\nthree\n");
  EXPECT_EQ(r.err, "");
}

TEST(Process, GroupsWithAnArgumentUnderADirectoryAreKilled) {
  // Unique to this process: another test run on the machine kills its own.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("hephy-process-test-orphans-" + std::to_string(getpid()));
  Child orphan = Spawn({.argv = {"sh", "-c", "sleep 30", (dir / "job").string()}});
  Child bystander = Spawn({.argv = {"sh", "-c", "sleep 30", (dir.string() + "-other/job")}});
  EXPECT_EQ(KillGroupsWithArgumentUnder(dir), 1);
  EXPECT_EQ(orphan.Wait(), 128 + SIGKILL);
  EXPECT_FALSE(bystander.TryWait());
}

TEST(Process, GroupsWithAnOptionNamingAPathUnderADirectoryAreKilled) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("hephy-process-test-options-" + std::to_string(getpid()));
  Child file = Spawn({.argv = {"sh", "-c", "sleep 30", "--digest-file=" + (dir / "d").string()}});
  Child url = Spawn({.argv = {"sh", "-c", "sleep 30", "--context=dir://" + (dir / "c").string()}});
  Child bystander =
      Spawn({.argv = {"sh", "-c", "sleep 30", "--context=dir://" + dir.string() + "-other/c"}});
  EXPECT_EQ(KillGroupsWithArgumentUnder(dir), 2);
  EXPECT_EQ(file.Wait(), 128 + SIGKILL);
  EXPECT_EQ(url.Wait(), 128 + SIGKILL);
  EXPECT_FALSE(bystander.TryWait());
}

TEST(Process, TimeoutKillsTheWholeProcessGroup) {
  // The grandchild holds stdout open; only killing the group ends the run.
  const auto start = std::chrono::steady_clock::now();
  const RunResult r =
      hephy::Run({.argv = {"sh", "-c", "sleep 30 & sleep 30"}}, "", std::chrono::milliseconds(300));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Process, EnvironmentIsExactlyWhatWasGiven) {
  const RunResult r =
      hephy::Run({.argv = {"/usr/bin/env"}, .env = std::vector<std::string>{"ONLY=this"}});
  EXPECT_EQ(r.out, "ONLY=this\n");
}

TEST(Process, MissingProgramIsAnErrorNamingIt) {
  try {
    Spawn({.argv = {"no-such-program-hephy"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'no-such-program-hephy'"), std::string::npos);
  }
}

TEST(Process, DescriptorsOtherThanStdioAreNotInherited) {
  const RunResult r = hephy::Run({.argv = {"sh", "-c", "ls /proc/self/fd | wc -l"}});
  // 0, 1, 2 and the fd ls itself opens to list the directory.
  EXPECT_EQ(r.out, "4\n");
}

}  // namespace
}  // namespace hephy
