// Sessions of the web page. Signing in with a user name and one of that
// user's API tokens starts one: the browser keeps a random secret in the
// cookie "hephy_session"; hephyd keeps, in memory only, the secret's SHA-256
// (a heap dump shows no cookie that works), the user, the SHA-256 of the API
// token signed in with, the session's CSRF token and when it expires. A
// session ends at sign-out, at its expiry, when hephyd restarts, and as soon
// as the API token it was made with is revoked or its user removed (each
// request asks the store about the token, as an API request would).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hephy/store.h"

namespace hephy {

inline constexpr std::string_view kSessionCookieName = "hephy_session";
inline constexpr std::chrono::hours kSessionLifetime{12};

struct WebSession {
  std::string user;          // the user's name
  std::string token_sha256;  // of the API token signed in with
  std::string csrf;          // 64 hex digits, sent back by every form
  std::chrono::system_clock::time_point expires;
};

class WebSessions {
 public:
  using Clock = std::chrono::system_clock;

  // Sessions last `lifetime`; at most `max_sessions` are kept, the one
  // nearest its end giving way to a new one beyond that.
  explicit WebSessions(std::chrono::seconds lifetime = kSessionLifetime,
                       size_t max_sessions = 10'000);
  WebSessions(const WebSessions&) = delete;
  WebSessions& operator=(const WebSessions&) = delete;

  struct Started {
    std::string secret;  // the cookie's value: 64 hex digits
    WebSession session;
  };
  // A new session for `user`, signed in with the token whose hash is
  // `token_sha256`, from `now`. Throws Error when the random generator fails.
  Started Start(const std::string& user, const std::string& token_sha256, Clock::time_point now);

  // The session whose cookie value is `secret`, unless it has expired (then
  // it is forgotten) or never was.
  std::optional<WebSession> Find(std::string_view secret, Clock::time_point now);

  // Ends the session of `secret`; false when there was none.
  bool End(std::string_view secret);

  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  std::chrono::seconds lifetime_;
  size_t max_sessions_;
  std::mutex mutex_;
  std::map<std::string, WebSession, std::less<>> sessions_;  // by the secret's SHA-256
};

// The session of `secret` with its user, read anew from `store`: nullopt
// when there is none, it has expired, or its API token no longer signs its
// user in (revoked, or the user removed); then the session is ended.
struct SignedIn {
  WebSession session;
  User user;
};
std::optional<SignedIn> ResolveSession(WebSessions& sessions, Store& store, std::string_view secret,
                                       WebSessions::Clock::time_point now);

// The Set-Cookie value that gives the browser the session `secret` for
// `max_age`: HttpOnly, SameSite=Strict, Path=/, and Secure when `secure`
// (the request came over HTTPS).
std::string SessionCookie(std::string_view secret, bool secure, std::chrono::seconds max_age);

// The Set-Cookie value that makes the browser forget its session cookie.
std::string ClearedSessionCookie(bool secure);

// The value of the session cookie in a Cookie header ("a=1; hephy_session=X"),
// or "" when there is none.
std::string SessionCookieValue(std::string_view cookie_header);

// Whether `given` is the session's CSRF token `expected`. Compares every
// byte whatever the first difference, so that the time taken tells nothing
// about how much of a guess was right; an empty `expected` matches nothing.
bool CsrfTokenMatches(std::string_view expected, std::string_view given);

}  // namespace hephy
