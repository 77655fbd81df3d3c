#include "hephy/hook_protocol.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "git/hook_server.h"
#include "hephy/error.h"

namespace hephy {
namespace {

TEST(HookProtocol, PacketsAreGitPktLines) {
  EXPECT_EQ(hook::Packet("hello"), "0009hello");
  EXPECT_EQ(hook::Packet(""), "0004");
  EXPECT_EQ(hook::Packet(std::string(70000, 'x')).size(), 65520u);
}

TEST(HookProtocol, ReaderReturnsPayloadsAndFlushes) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string stream = hook::Packet("app web") + hook::Packet("line a b c") +
                             std::string(hook::kFlush) + hook::Packet("status 0");
  ASSERT_TRUE(hook::WriteAll(fds[1], stream));
  close(fds[1]);
  hook::PacketReader reader(fds[0]);
  EXPECT_EQ(reader.Next(), "app web");
  EXPECT_EQ(reader.Next(), "line a b c");
  EXPECT_EQ(reader.Next(), std::nullopt);
  EXPECT_EQ(reader.Next(), "status 0");
  EXPECT_THROW(reader.Next(), std::runtime_error);  // end of stream
  close(fds[0]);
}

TEST(HookProtocol, MalformedHeadersAreErrors) {
  for (const char* bad : {"zzzzpayload", "0002", "0010short"}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    hook::WriteAll(fds[1], bad);
    close(fds[1]);
    hook::PacketReader reader(fds[0]);
    EXPECT_THROW(reader.Next(), std::runtime_error) << bad;
    close(fds[0]);
  }
}

TEST(HookProtocol, PushRequestsAreParsed) {
  const std::string a(40, 'a'), zero(40, '0');
  const PushRequest r = ParsePushRequest(
      {"app web", "user alice", "push-id 0123", "env GIT_QUARANTINE_PATH=/r/objects/tmp",
       "option rebuild=all", "update " + zero + " " + a + " refs/heads/main"});
  EXPECT_EQ(r.app, "web");
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.env.at("GIT_QUARANTINE_PATH"), "/r/objects/tmp");
  EXPECT_EQ(r.options, std::vector<std::string>{"rebuild=all"});
  ASSERT_EQ(r.updates.size(), 1u);
  EXPECT_EQ(r.updates[0].new_id, a);
  EXPECT_EQ(r.updates[0].ref, "refs/heads/main");
}

TEST(HookProtocol, RebuildRequestsNameUnits) {
  const PushRequest r =
      ParsePushRequest({"app web", "user root", "trigger manual", "unit base", "unit api"});
  EXPECT_EQ(r.trigger, "manual");
  EXPECT_EQ(r.units, (std::vector<std::string>{"base", "api"}));
  EXPECT_TRUE(r.updates.empty());
  EXPECT_EQ(ParsePushRequest({"app web"}).trigger, "push");
  EXPECT_THROW(ParsePushRequest({"trigger schedule"}), Error);
}

TEST(HookProtocol, MalformedRequestsNameTheField) {
  EXPECT_THROW(ParsePushRequest({"update nothing"}), Error);
  EXPECT_THROW(ParsePushRequest({"env NOEQUALS"}), Error);
  try {
    ParsePushRequest({"colour blue"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "hook request: unknown field 'colour'");
  }
}

}  // namespace
}  // namespace hephy
