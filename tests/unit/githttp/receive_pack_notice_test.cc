// The full-disk notice added to receive-pack's answer over HTTP: before the
// answer's flush packet, in the sideband's progress band, only when git's
// answer said the disk was full and the client takes a sideband.
#include "githttp/receive_pack_notice.h"

#include <gtest/gtest.h>

#include "hephy/hook_protocol.h"
#include "util/disk_space.h"

namespace hephy {
namespace {

// A push's command list, with `capabilities`.
std::string Commands(const std::string& capabilities) {
  return hook::Packet(std::string(40, '0') + " " + std::string(40, 'a') + " refs/heads/main" +
                      std::string(1, '\0') + capabilities) +
         std::string(hook::kFlush);
}
const std::string kCommands = Commands("report-status side-band-64k agent=git/2.39.5");

// An answer as receive-pack writes it: index-pack's complaint in band 2,
// the report in band 1, then the flush.
std::string Answer(const std::string& complaint) {
  return hook::Packet("\x02" + complaint + "\n") +
         hook::Packet("\x01" + hook::Packet("unpack index-pack abnormal exit\n") +
                      std::string(hook::kFlush)) +
         std::string(hook::kFlush);
}

// What the client gets when the answer comes in reads of `step` bytes.
std::string Forwarded(ReceivePackNotice& notice, const std::string& answer, size_t step) {
  std::string got;
  for (size_t at = 0; at < answer.size(); at += step) {
    EXPECT_TRUE(notice.Forward(std::string_view(answer).substr(at, step), [&](std::string_view d) {
      got.append(d);
      return true;
    }));
  }
  return got;
}

TEST(ReceivePackNotice, ComesBeforeTheFlushWhenTheDiskWasFull) {
  const std::string answer = Answer("fatal: write error: No space left on device");
  const std::string notice_packet =
      hook::Packet("\x02" + NoSpaceLeftMessage("/var/lib/hephy") + "\n");
  const std::string expected =
      answer.substr(0, answer.size() - 4) + notice_packet + std::string(hook::kFlush);
  // Whole, and in reads that split headers, the flush's included.
  for (const size_t step : {answer.size(), size_t{1}, size_t{3}, size_t{7}}) {
    ReceivePackNotice notice("/var/lib/hephy");
    notice.FeedRequest(kCommands.substr(0, 10));
    notice.FeedRequest(kCommands.substr(10));
    EXPECT_EQ(Forwarded(notice, answer, step), expected) << "reads of " << step;
  }
}

TEST(ReceivePackNotice, LeavesOtherAnswersAlone) {
  const std::string fine = Answer("Resolving deltas: 100% (3/3), done.");
  ReceivePackNotice notice("/data");
  notice.FeedRequest(kCommands);
  EXPECT_EQ(Forwarded(notice, fine, 5), fine);

  // Without a sideband there is nowhere to put it.
  const std::string full = Answer("fatal: write error: No space left on device");
  ReceivePackNotice without("/data");
  without.FeedRequest(Commands("report-status agent=git/2.39.5"));
  EXPECT_EQ(Forwarded(without, full, 9), full);
}

TEST(ReceivePackNotice, SaysFalseWhenTheClientHasGone) {
  ReceivePackNotice notice("/data");
  notice.FeedRequest(kCommands);
  EXPECT_FALSE(
      notice.Forward(Answer("No space left on device"), [](std::string_view) { return false; }));
}

}  // namespace
}  // namespace hephy
