// The web page on hephyd's HTTP listener (docs/hephyd.md, WEB PAGE):
//
//   GET  /                          sign-in form, or the apps once signed in
//   GET  /apps                      the apps the user may read
//   GET  /apps/APP/builds?status=S  an app's builds, newest first
//   GET  /apps/APP/builds/ID        one build: jobs, timeline, logs
//   GET  /apps/APP/builds/ID/events its logs as server-sent events, live
//   GET  /apps/APP/builds/ID/log?platform=P  one platform's whole log, text
//   POST /apps/APP/builds/ID/rebuild, /cancel   (write access, CSRF token)
//   POST /sign-in, /sign-out
//   GET  /assets/HASH/NAME          the embedded stylesheet and script
//
// A session (web_sessions.h) stands for the API token it was signed in
// with: the user sees what that token's API calls would (store/rights.h),
// and an app or build they may not read is answered 404 as one that does
// not exist. Every page carries a strict Content-Security-Policy; every
// POST but the sign-in needs the session's CSRF token.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "api/http_server.h"
#include "hephy/config.h"
#include "ssh/auth_throttle.h"
#include "web/web_sessions.h"

namespace hephy {

// What the page asks the rest of hephyd to do.
struct WebActions {
  // Starts a rebuild of `unit` of `app` for `user`, in the background.
  // Returns "" once it started, else why it did not (hephyd drains).
  std::function<std::string(const std::string& app, const std::string& unit,
                            const std::string& user)>
      rebuild;
  // Stops the build `build_id` that runs in this hephyd, for `user`; false
  // when none such runs.
  std::function<bool(int64_t build_id, const std::string& user)> cancel;
};

// The response headers every page and asset carries.
inline constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

class WebUi {
 public:
  // A sign-in with a wrong user or token counts as a failed attempt of its
  // address in `throttle`, as over SSH and git over HTTP; a blocked address
  // is answered 429. Without one, sign-ins are not counted (tests).
  explicit WebUi(const Config& config, WebActions actions = {}, AuthThrottle* throttle = nullptr);
  WebUi(const WebUi&) = delete;
  WebUi& operator=(const WebUi&) = delete;

  // Whether the request is for the web page rather than the API or git.
  static bool Serves(const HttpServerRequest& request);

  // Answers one request; thread-safe (each call opens its own connection to
  // the database).
  void Handle(const HttpServerRequest& request, HttpExchange& exchange);

  WebSessions& sessions() { return sessions_; }

 private:
  class Request;
  const Config& config_;
  WebActions actions_;
  AuthThrottle* throttle_;
  WebSessions sessions_;
};

}  // namespace hephy
