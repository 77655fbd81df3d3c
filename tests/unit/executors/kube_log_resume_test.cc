#include "executors/kube_log_resume.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hephy {
namespace {

// What `resume` hands on of `lines`, one stream.
std::vector<std::string> Stream(KubeLogResume& resume, const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    if (const auto text = resume.Take(line)) out.emplace_back(*text);
  }
  return out;
}

using Lines = std::vector<std::string>;

TEST(KubeLogResume, TheFirstStreamAsksForTimestampsAndLosesThem) {
  KubeLogResume resume;
  EXPECT_EQ(resume.NextStream(), "&timestamps=true");
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.123456789Z INFO[0000] Retrieving image",
                            "2025-10-14T10:00:07.2Z   indented", "2025-10-14T10:00:08Z ",
                            "2025-10-14T10:00:08Z"}),
            (Lines{"INFO[0000] Retrieving image", "  indented", "", ""}));
}

TEST(KubeLogResume, AReopenedStreamStartsAtTheSecondOfTheLastLine) {
  KubeLogResume resume;
  resume.NextStream();
  Stream(resume, {"2025-10-14T10:00:07.5Z one", "2025-10-14T12:00:09.75+02:00 two"});
  EXPECT_EQ(resume.NextStream(), "&timestamps=true&sinceTime=2025-10-14T10%3A00%3A09Z");
}

TEST(KubeLogResume, WhatAReopenedStreamRepeatsIsSkipped) {
  KubeLogResume resume;
  resume.NextStream();
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.1Z one", "2025-10-14T10:00:07.2Z two",
                            "2025-10-14T10:00:08.3Z three"}),
            (Lines{"one", "two", "three"}));
  resume.NextStream();
  // The server sends from 10:00:07 on, at whole seconds.
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.1Z one", "2025-10-14T10:00:07.2Z two",
                            "2025-10-14T10:00:08.3Z three", "2025-10-14T10:00:08.4Z four"}),
            (Lines{"four"}));
}

TEST(KubeLogResume, LinesOfTheSameInstantAreMatchedOneByOne) {
  KubeLogResume resume;
  resume.NextStream();
  // Two equal lines and another at one instant; the stream broke after the
  // first of the equal ones.
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.5Z same"}), (Lines{"same"}));
  resume.NextStream();
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.5Z same", "2025-10-14T10:00:07.5Z same",
                            "2025-10-14T10:00:07.5Z other"}),
            (Lines{"same", "other"}));
  resume.NextStream();
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.5Z same", "2025-10-14T10:00:07.5Z same",
                            "2025-10-14T10:00:07.5Z other", "2025-10-14T10:00:07.5Z same"}),
            (Lines{"same"}));
}

TEST(KubeLogResume, AStreamThatRepeatsNothingLosesNothing) {
  KubeLogResume resume;
  resume.NextStream();
  Stream(resume, {"2025-10-14T10:00:07.5Z one"});
  resume.NextStream();
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:09Z two", "2025-10-14T10:00:09Z two"}),
            (Lines{"two", "two"}));
}

TEST(KubeLogResume, OnlyAReopenedStreamSkipsOlderLines) {
  KubeLogResume resume;
  resume.NextStream();
  // stderr and stdout are timed apart: an older line may come later.
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.5Z out", "2025-10-14T10:00:07.4Z err"}),
            (Lines{"out", "err"}));
  resume.NextStream();
  EXPECT_EQ(Stream(resume, {"2025-10-14T10:00:07.5Z out", "2025-10-14T10:00:07.4Z err",
                            "2025-10-14T10:00:07.6Z new"}),
            (Lines{"new"}));
}

TEST(KubeLogResume, ALineWithoutATimestampIsHandedOnWhole) {
  KubeLogResume resume;
  resume.NextStream();
  EXPECT_EQ(Stream(resume, {"INFO[0000] no time", "24h later", ""}),
            (Lines{"INFO[0000] no time", "24h later", ""}));
  EXPECT_EQ(resume.NextStream(), "&timestamps=true");
}

}  // namespace
}  // namespace hephy
