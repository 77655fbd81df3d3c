#include "util/line_splitter.h"

#include <gtest/gtest.h>

#include <vector>

namespace hephy {
namespace {

std::vector<std::string> Split(const std::vector<std::string>& chunks) {
  std::vector<std::string> lines;
  LineSplitter splitter([&](std::string_view line) { lines.emplace_back(line); });
  for (const auto& chunk : chunks) splitter.Feed(chunk);
  splitter.Finish();
  return lines;
}

TEST(LineSplitter, LinesMayArriveInAnyPieces) {
  EXPECT_EQ(Split({"STEP 1/2: FROM scratch\nSTEP 2", "/2: COPY", " . /\n"}),
            (std::vector<std::string>{"STEP 1/2: FROM scratch", "STEP 2/2: COPY . /"}));
}

TEST(LineSplitter, CarriageReturnsAndAnUnfinishedLastLine) {
  EXPECT_EQ(Split({"a\r\n\nb"}), (std::vector<std::string>{"a", "", "b"}));
}

TEST(LineSplitter, AnEndlessLineIsHandedOnInBoundedPieces) {
  const auto lines = Split({std::string(LineSplitter::kMaxLine * 2 + 5, 'x')});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].size(), LineSplitter::kMaxLine);
  EXPECT_EQ(lines[2].size(), 5u);
}

}  // namespace
}  // namespace hephy
