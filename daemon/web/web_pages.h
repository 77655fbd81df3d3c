// The web page's HTML, rendered on the server from what the store holds: it
// reads without JavaScript, and app.js only follows live logs and copies
// pull lines. Every string from outside goes through HtmlEscape (html.h);
// no element carries inline script or style (the Content-Security-Policy
// forbids both). Pure functions of their arguments.
//
// Stable hooks for tests and app.js (docs/hephyd.md, WEB PAGE):
//   body[data-page]           sign-in | apps | builds | build | error
//   #user                     the signed-in user's name; #sign-out its form
//   #sign-in form             inputs #sign-in-user, #sign-in-token; #sign-in-error
//   #apps tr[data-app=APP]    .status[data-status], .pull (the pull line)
//   #builds tr[data-build=ID][data-status=S]; nav#filters a[data-filter=S]
//   #build[data-build=ID][data-status=S][data-events=URL while it runs]
//   #jobs tr[data-unit][data-platform][data-status]; #timeline rect[data-platform]
//   #logs .log[data-platform=P] > pre code[data-log=P] > span.line
//   .failed-step              the line of the step that failed (#failed-step-N)
//   #rebuild, #cancel         forms, for users with write access
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hephy/store.h"

namespace hephy {

using TimePoint = std::chrono::system_clock::time_point;

// The frame around every page: title, stylesheet, script, the header with
// the signed-in user and the sign-out form.
struct PageFrame {
  std::string title;
  std::string page;                 // body's data-page
  std::optional<std::string> user;  // signed in
  std::string csrf;                 // the session's CSRF token, for forms
};
std::string RenderPage(const PageFrame& frame, std::string_view main);

// The sign-in form; `error` (when not empty) says why the last try failed.
std::string RenderSignIn(std::string_view error, std::string_view user_name);

// A page of its own for a refusal or a missing thing.
std::string RenderMessage(std::string_view heading, std::string_view message);

struct AppSummary {
  App app;
  std::optional<Build> last;            // its newest build
  std::optional<Build> last_succeeded;  // its newest build that succeeded
  std::string image;                    // "REGISTRY/REPOSITORY", without a tag
};
std::string RenderApps(const std::vector<AppSummary>& apps, TimePoint now);

// The builds of `app`, `status` the filter ("" for all).
std::string RenderBuilds(std::string_view app, const std::vector<Build>& builds,
                         std::string_view status, TimePoint now);

struct CommitSummary {
  std::string author;
  std::string message;
};

struct JobLogView {
  std::string platform;
  std::vector<std::string> lines;     // the last ones of its log
  size_t skipped = 0;                 // earlier lines left out
  std::optional<size_t> failed_step;  // index in lines of the failing STEP
};

struct BuildView {
  Build build;
  std::vector<Build> push;  // every build of the same push (this one among them)
  std::optional<CommitSummary> commit;
  std::string image;  // "REGISTRY/REPOSITORY"
  std::vector<JobLogView> logs;
  bool can_write = false;
  std::string csrf;
};
std::string RenderBuild(const BuildView& view, TimePoint now);

// Index in `lines` of the last buildah or Kaniko step line ("STEP 2/5: ..."
// or "INFO[...] RUN ..."), the step a failed job failed in; nullopt for none.
std::optional<size_t> FailingStep(const std::vector<std::string>& lines);

// "YYYY-MM-DD HH:MM:SS" (UTC, as the store writes times); nullopt for "".
std::optional<TimePoint> ParseStoreTime(std::string_view text);

// "4s", "2m 05s", "1h 02m": how long from `start` to `end` (or to `now`
// while it runs); "" when it never started.
std::string DurationText(std::string_view start, std::string_view end, TimePoint now);

}  // namespace hephy
