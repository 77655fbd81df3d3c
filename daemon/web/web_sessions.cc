#include "web/web_sessions.h"

#include <algorithm>

#include "util/hex.h"

namespace hephy {

WebSessions::WebSessions(std::chrono::seconds lifetime, size_t max_sessions)
    : lifetime_(lifetime), max_sessions_(std::max<size_t>(1, max_sessions)) {}

WebSessions::Started WebSessions::Start(const std::string& user, const std::string& token_sha256,
                                        Clock::time_point now) {
  Started started{RandomHex(32), {user, token_sha256, RandomHex(32), now + lifetime_}};
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires <= now; });
  while (sessions_.size() >= max_sessions_) {
    sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.expires < b.second.expires;
    }));
  }
  sessions_.emplace(Sha256Hex(started.secret), started.session);
  return started;
}

std::optional<WebSession> WebSessions::Find(std::string_view secret, Clock::time_point now) {
  if (secret.empty()) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(Sha256Hex(secret));
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

bool WebSessions::End(std::string_view secret) {
  std::lock_guard lock(mutex_);
  return sessions_.erase(Sha256Hex(secret)) > 0;
}

std::optional<SignedIn> ResolveSession(WebSessions& sessions, Store& store, std::string_view secret,
                                       WebSessions::Clock::time_point now) {
  auto session = sessions.Find(secret, now);
  if (!session) return std::nullopt;
  auto user = store.FindUserByApiToken(session->token_sha256);
  if (!user || user->name != session->user) {
    sessions.End(secret);
    return std::nullopt;
  }
  return SignedIn{std::move(*session), std::move(*user)};
}

std::string SessionCookie(std::string_view secret, bool secure, std::chrono::seconds max_age) {
  return std::string(kSessionCookieName) + "=" + std::string(secret) +
         "; Path=/; Max-Age=" + std::to_string(max_age.count()) + "; HttpOnly; SameSite=Strict" +
         (secure ? "; Secure" : "");
}

std::string ClearedSessionCookie(bool secure) {
  return SessionCookie("", secure, std::chrono::seconds(0));
}

std::string SessionCookieValue(std::string_view header) {
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    std::string_view pair = header.substr(0, semicolon);
    header = semicolon == std::string_view::npos ? "" : header.substr(semicolon + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos || pair.substr(0, equals) != kSessionCookieName) continue;
    std::string_view value = pair.substr(equals + 1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    return std::string(value);
  }
  return "";
}

bool CsrfTokenMatches(std::string_view expected, std::string_view given) {
  if (expected.empty() || expected.size() != given.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    difference |= static_cast<unsigned char>(expected[i] ^ given[i]);
  }
  return difference == 0;
}

}  // namespace hephy
