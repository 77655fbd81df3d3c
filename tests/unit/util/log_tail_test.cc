#include "util/log_tail.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_dir.h"

namespace hephy {
namespace {

class LogTailTest : public ::testing::Test {
 protected:
  void Append(const std::string& text) { std::ofstream(path_, std::ios::app) << text; }

  std::vector<std::string> Read(bool to_end = false) {
    std::vector<std::string> lines;
    tail_.Read([&](std::string_view line) { lines.emplace_back(line); }, to_end);
    return lines;
  }

  TestDir dir_;
  std::filesystem::path path_ = dir_.path() / "linux-amd64.log";
  LogTail tail_{path_};
};

using Lines = std::vector<std::string>;

TEST_F(LogTailTest, AMissingFileYieldsNothingUntilItAppears) {
  EXPECT_EQ(Read(true), Lines{});
  EXPECT_FALSE(tail_.found());
  Append("STEP 1/2: FROM alpine\n");
  EXPECT_EQ(Read(), Lines{"STEP 1/2: FROM alpine"});
  EXPECT_TRUE(tail_.found());
}

TEST_F(LogTailTest, EachReadYieldsTheLinesCompletedSinceTheLast) {
  Append("one\ntwo\n");
  EXPECT_EQ(Read(), (Lines{"one", "two"}));
  EXPECT_EQ(Read(), Lines{});
  Append("\nthree\n");
  EXPECT_EQ(Read(), (Lines{"", "three"}));
}

TEST_F(LogTailTest, ALineBeingWrittenIsHeldBackUntilItEndsOrTheWriterIsDone) {
  Append("one\ntw");
  EXPECT_EQ(Read(), Lines{"one"});
  Append("o\nthr");
  EXPECT_EQ(Read(), Lines{"two"});
  Append("ee");
  EXPECT_EQ(Read(true), Lines{"three"});
  EXPECT_EQ(Read(true), Lines{});
}

TEST_F(LogTailTest, LinesLongerThanOneReadAreWhole) {
  const std::string long_line(200 * 1024, 'x');
  Append("short\n" + long_line + "\nend\n");
  EXPECT_EQ(Read(), (Lines{"short", long_line, "end"}));
}

}  // namespace
}  // namespace hephy
