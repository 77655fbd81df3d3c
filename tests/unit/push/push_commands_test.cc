#include "push/push_commands.h"

#include <gtest/gtest.h>

#include "hephy/hook_protocol.h"

namespace hephy {
namespace {

const std::string kZero(40, '0');
const std::string kA(40, 'a');
const std::string kB(40, 'b');

using hook::Packet;

TEST(PushCommandReader, ReadsTheCommandListUpToItsFlush) {
  const std::string request = Packet(kZero + " " + kA + " refs/heads/main" + std::string(1, '\0') +
                                     " report-status side-band-64k agent=git/2.39") +
                              Packet(kA + " " + kB + " refs/tags/v1\n") + "0000" + "PACK...";
  PushCommandReader reader;
  // Byte by byte: packets arrive split anywhere.
  for (size_t i = 0; i < request.size(); ++i) {
    if (i < request.find("0000PACK")) {
      EXPECT_FALSE(reader.Updates()) << i;
    }
    reader.Feed(std::string_view(request).substr(i, 1));
  }
  const auto updates = reader.Updates();
  ASSERT_TRUE(updates);
  ASSERT_EQ(updates->size(), 2u);
  EXPECT_EQ((*updates)[0].old_id, kZero);
  EXPECT_EQ((*updates)[0].new_id, kA);
  EXPECT_EQ((*updates)[0].ref, "refs/heads/main");
  EXPECT_EQ((*updates)[1].ref, "refs/tags/v1");
}

TEST(PushCommandReader, NothingToPushIsAnEmptyList) {
  PushCommandReader reader;
  reader.Feed("0000");
  ASSERT_TRUE(reader.Updates());
  EXPECT_TRUE(reader.Updates()->empty());
}

TEST(PushCommandReader, ShallowLinesAreSkipped) {
  PushCommandReader reader;
  reader.Feed(Packet("shallow " + kB) + Packet(kA + " " + kB + " refs/heads/main") + "0000");
  ASSERT_TRUE(reader.Updates());
  EXPECT_EQ(reader.Updates()->size(), 1u);
}

TEST(PushCommandReader, WhatIsNotACommandListGivesNothing) {
  for (const std::string& bytes :
       {Packet("push-cert" + std::string(1, '\0') + "report-status") + "0000",
        Packet("want " + kA + " multi_ack") + "0000", Packet(kA + " nothex refs/heads/x") + "0000",
        std::string("zzzz"), std::string("0001"), Packet(kA + " " + kB) + "0000"}) {
    PushCommandReader reader;
    reader.Feed(bytes);
    EXPECT_FALSE(reader.Updates()) << bytes;
  }
}

}  // namespace
}  // namespace hephy
