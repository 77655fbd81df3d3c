// Web sessions: the cookie's attributes, expiry, sign-out, the end of a
// session whose API token is revoked, and the CSRF token check.
#include "web/web_sessions.h"

#include <gtest/gtest.h>

#include "api/api_tokens.h"
#include "test_dir.h"

namespace hephy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

TEST(SessionCookieTest, IsHttpOnlyStrictForTheWholeSiteAndSecureUnderTls) {
  EXPECT_EQ(SessionCookie("abc", false, 12h),
            "hephy_session=abc; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict");
  EXPECT_EQ(SessionCookie("abc", true, 12h),
            "hephy_session=abc; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict; Secure");
  EXPECT_EQ(ClearedSessionCookie(true),
            "hephy_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
}

TEST(SessionCookieTest, IsFoundAmongOtherCookies) {
  EXPECT_EQ(SessionCookieValue("hephy_session=s1"), "s1");
  EXPECT_EQ(SessionCookieValue("a=1; hephy_session=s2; b=3"), "s2");
  EXPECT_EQ(SessionCookieValue("a=1;hephy_session=s3"), "s3");
  EXPECT_EQ(SessionCookieValue("xhephy_session=no; hephy_sessionx=no"), "");
  EXPECT_EQ(SessionCookieValue(""), "");
}

TEST(WebSessionsTest, ASessionHoldsUntilItExpires) {
  WebSessions sessions(1h);
  const auto now = Clock::now();
  const auto started = sessions.Start("alice", "hash", now);
  EXPECT_EQ(started.secret.size(), 64u);
  EXPECT_EQ(started.session.csrf.size(), 64u);
  EXPECT_NE(started.secret, started.session.csrf);
  const auto found = sessions.Find(started.secret, now + 59min);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user, "alice");
  EXPECT_EQ(found->csrf, started.session.csrf);
  EXPECT_EQ(found->expires, now + 1h);
  EXPECT_FALSE(sessions.Find(started.secret, now + 1h));
  // Once expired it is forgotten, even for a clock that goes back.
  EXPECT_FALSE(sessions.Find(started.secret, now));
}

TEST(WebSessionsTest, SignOutEndsOnlyThatSession) {
  WebSessions sessions;
  const auto now = Clock::now();
  const auto first = sessions.Start("alice", "hash", now);
  const auto second = sessions.Start("alice", "hash", now);
  EXPECT_NE(first.secret, second.secret);
  EXPECT_TRUE(sessions.End(first.secret));
  EXPECT_FALSE(sessions.End(first.secret));
  EXPECT_FALSE(sessions.Find(first.secret, now));
  EXPECT_TRUE(sessions.Find(second.secret, now));
  EXPECT_FALSE(sessions.Find("", now));
  EXPECT_FALSE(sessions.Find(std::string(64, '0'), now));
}

TEST(WebSessionsTest, TheOldestGivesWayBeyondTheLimit) {
  WebSessions sessions(1h, 2);
  const auto now = Clock::now();
  const auto a = sessions.Start("a", "h", now);
  const auto b = sessions.Start("b", "h", now + 1s);
  const auto c = sessions.Start("c", "h", now + 2s);
  EXPECT_FALSE(sessions.Find(a.secret, now + 3s));
  EXPECT_TRUE(sessions.Find(b.secret, now + 3s));
  EXPECT_TRUE(sessions.Find(c.secret, now + 3s));
}

TEST(WebSessionsTest, ARevokedTokenEndsItsSessions) {
  TestDir dir;
  Store store(dir.path() / "hephy.db");
  store.Migrate();
  store.AddUser("alice", false);
  const std::string token = NewApiToken();
  const ApiToken made = store.CreateApiToken("alice", "web", HashApiToken(token));
  WebSessions sessions;
  const auto now = Clock::now();
  const auto started = sessions.Start("alice", HashApiToken(token), now);
  const auto signed_in = ResolveSession(sessions, store, started.secret, now);
  ASSERT_TRUE(signed_in);
  EXPECT_EQ(signed_in->user.name, "alice");

  store.RevokeApiToken(made.id);
  EXPECT_FALSE(ResolveSession(sessions, store, started.secret, now));
  // Ended, not merely refused: a new token with the same hash would not
  // bring it back.
  EXPECT_FALSE(sessions.Find(started.secret, now));
}

TEST(WebSessionsTest, ARemovedUserEndsTheirSessions) {
  TestDir dir;
  Store store(dir.path() / "hephy.db");
  store.Migrate();
  store.AddUser("alice", false);
  const std::string token = NewApiToken();
  store.CreateApiToken("alice", "web", HashApiToken(token));
  WebSessions sessions;
  const auto started = sessions.Start("alice", HashApiToken(token), Clock::now());
  store.RemoveUser("alice");
  EXPECT_FALSE(ResolveSession(sessions, store, started.secret, Clock::now()));
}

TEST(CsrfTokenTest, MatchesOnlyTheWholeToken) {
  const std::string token(64, 'a');
  EXPECT_TRUE(CsrfTokenMatches(token, token));
  EXPECT_FALSE(CsrfTokenMatches(token, std::string(63, 'a')));
  EXPECT_FALSE(CsrfTokenMatches(token, std::string(63, 'a') + "b"));
  EXPECT_FALSE(CsrfTokenMatches(token, "b" + std::string(63, 'a')));
  EXPECT_FALSE(CsrfTokenMatches(token, ""));
  EXPECT_FALSE(CsrfTokenMatches("", ""));
}

}  // namespace
}  // namespace hephy
