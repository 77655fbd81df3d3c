#include "web/web_pages.h"

#include <algorithm>
#include <regex>

#include "util/time_spec.h"
#include "web/html.h"
#include "web/web_assets.h"

namespace hephy {
namespace {

constexpr std::string_view kStatuses[] = {"queued", "running",   "succeeded",
                                          "failed", "cancelled", "interrupted"};

std::string Esc(std::string_view text) { return HtmlEscape(text); }

std::string StatusBadge(std::string_view status) {
  return "<span class=\"status s-" + Esc(status) + "\" data-status=\"" + Esc(status) + "\">" +
         Esc(status) + "</span>";
}

std::string ShortSha(std::string_view sha) { return std::string(sha.substr(0, 7)); }

std::string BuildUrl(const Build& build) {
  return "/apps/" + Esc(build.app) + "/builds/" + std::to_string(build.id);
}

std::string Platforms(const Build& build) {
  std::string out;
  for (const auto& job : build.jobs) out += (out.empty() ? "" : ", ") + job.platform;
  return out;
}

std::string When(std::string_view time) {
  return time.empty() ? "" : "<time>" + Esc(time) + " UTC</time>";
}

// A form that POSTs to `action` with the session's CSRF token.
std::string PostForm(std::string_view id, std::string_view action, std::string_view csrf,
                     std::string_view button, std::string_view button_class = "") {
  return "<form method=\"post\" action=\"" + Esc(action) + "\" id=\"" + Esc(id) +
         "\"><input type=\"hidden\" name=\"csrf\" value=\"" + Esc(csrf) + "\"><button" +
         (button_class.empty() ? "" : " class=\"" + Esc(button_class) + "\"") + ">" + Esc(button) +
         "</button></form>";
}

std::string PullLine(const std::string& image, const Build& build) {
  const std::string ref = image + ":" + (build.tags.empty() ? "latest" : build.tags.front());
  return "<code class=\"pull\" data-pull>podman pull " + Esc(ref) +
         "</code><button type=\"button\" class=\"copy\" hidden>Copy</button>";
}

std::string JobRowId(const Build& build, const BuildJob& job) {
  std::string id = "job-" + std::to_string(build.id) + "-" + job.platform;
  std::replace(id.begin(), id.end(), '/', '-');
  return id;
}

std::string PlatformId(std::string_view platform) {
  std::string id(platform);
  std::replace(id.begin(), id.end(), '/', '-');
  return id;
}

std::string Timeline(const std::vector<Build>& builds, TimePoint now) {
  std::optional<TimePoint> first, last;
  for (const auto& build : builds) {
    for (const auto& job : build.jobs) {
      const auto start = ParseStoreTime(job.started_at);
      if (!start) continue;
      const auto end = job.finished_at.empty() ? now : *ParseStoreTime(job.finished_at);
      first = first ? std::min(*first, *start) : *start;
      last = last ? std::max(*last, end) : end;
    }
  }
  if (!first) return "<p id=\"timeline\" class=\"muted\">No job has started yet.</p>";
  const double span =
      std::max<double>(1, std::chrono::duration_cast<std::chrono::seconds>(*last - *first).count());
  const auto percent = [&](TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t - *first).count() * 100.0 / span;
  };
  std::string out = "<table id=\"timeline\" class=\"timeline\"><caption>Timeline: " +
                    std::to_string(static_cast<int64_t>(span)) +
                    "s from the first job's start</caption>";
  for (const auto& build : builds) {
    for (const auto& job : build.jobs) {
      out += "<tr><th>" + Esc(build.unit) + " " + Esc(job.platform) + "</th><td>";
      const auto start = ParseStoreTime(job.started_at);
      if (start) {
        const auto end = job.finished_at.empty() ? now : *ParseStoreTime(job.finished_at);
        const double x = percent(*start);
        const double w = std::max(0.5, percent(end) - x);
        char geometry[64];
        std::snprintf(geometry, sizeof geometry, "x=\"%.2f%%\" width=\"%.2f%%\"", x, w);
        out += "<svg class=\"bar\" role=\"img\" aria-label=\"" + Esc(job.platform) + " " +
               Esc(job.status) + "\"><rect " + geometry + " height=\"100%\" class=\"s-" +
               Esc(job.status) + "\" data-platform=\"" + Esc(job.platform) + "\"></rect></svg>";
      }
      out += "</td><td>" + DurationText(job.started_at, job.finished_at, now) + "</td></tr>";
    }
  }
  return out + "</table>";
}

}  // namespace

std::optional<TimePoint> ParseStoreTime(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return ParseRfc3339(std::string(text) + "Z");
}

std::string DurationText(std::string_view start, std::string_view end, TimePoint now) {
  const auto from = ParseStoreTime(start);
  if (!from) return "";
  const auto to = end.empty() ? std::optional(now) : ParseStoreTime(end);
  if (!to) return "";
  const int64_t s =
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(*to - *from).count());
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%lldm %02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(text, sizeof text, "%lldh %02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  }
  return text;
}

std::optional<size_t> FailingStep(const std::vector<std::string>& lines) {
  static const std::regex step(R"(^(STEP \d+/\d+: |INFO\[[^\]]*\] (RUN|COPY|ADD|FROM) ))");
  for (size_t i = lines.size(); i-- > 0;) {
    if (std::regex_search(lines[i], step)) return i;
  }
  return std::nullopt;
}

std::string RenderPage(const PageFrame& frame, std::string_view main) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      Esc(frame.title) + " · hephy</title><link rel=\"stylesheet\" href=\"" +
      AssetPath("style.css") + "\"><script src=\"" + AssetPath("app.js") +
      "\" defer></script></head>\n<body data-page=\"" + Esc(frame.page) +
      "\"><header><a href=\"/\" id=\"home\">hephy</a>";
  if (frame.user) {
    out += "<span class=\"who\">signed in as <b id=\"user\">" + Esc(*frame.user) + "</b>" +
           PostForm("sign-out", "/sign-out", frame.csrf, "Sign out", "link") + "</span>";
  }
  out += "</header>\n<main>";
  out.append(main);
  return out + "</main>\n</body></html>\n";
}

std::string RenderSignIn(std::string_view error, std::string_view user_name) {
  std::string out = "<h1>Sign in</h1>";
  if (!error.empty()) out += "<p id=\"sign-in-error\" class=\"error\">" + Esc(error) + "</p>";
  return out +
         "<form method=\"post\" action=\"/sign-in\" id=\"sign-in\" class=\"card\">"
         "<label for=\"sign-in-user\">User</label><input id=\"sign-in-user\" name=\"user\" "
         "autocomplete=\"username\" required value=\"" +
         Esc(user_name) +
         "\"><label for=\"sign-in-token\">API token</label><input id=\"sign-in-token\" "
         "name=\"token\" type=\"password\" autocomplete=\"current-password\" required>"
         "<button>Sign in</button></form><p class=\"muted\">An admin makes a token with "
         "<code>hephyd tokens create USER</code>.</p>";
}

std::string RenderMessage(std::string_view heading, std::string_view message) {
  return "<h1>" + Esc(heading) + "</h1><p id=\"message\">" + Esc(message) + "</p>";
}

std::string RenderApps(const std::vector<AppSummary>& apps, TimePoint now) {
  if (apps.empty()) return "<h1>Apps</h1><p id=\"apps\" class=\"muted\">No app you may read.</p>";
  std::string out =
      "<h1>Apps</h1><table id=\"apps\"><thead><tr><th>App</th><th>Last build</th><th>When</th>"
      "<th>Who</th><th>Image</th></tr></thead><tbody>";
  for (const auto& summary : apps) {
    const std::string& name = summary.app.name;
    out += "<tr data-app=\"" + Esc(name) + "\"><td><a href=\"/apps/" + Esc(name) + "/builds\">" +
           Esc(name) + "</a></td>";
    if (summary.last) {
      const Build& last = *summary.last;
      out += "<td><a href=\"" + BuildUrl(last) + "\">" + StatusBadge(last.status) + " #" +
             std::to_string(last.id) + "</a> " + Esc(last.unit) + "</td><td>" +
             When(last.created_at) + " " + DurationText(last.started_at, last.finished_at, now) +
             "</td><td>" + Esc(last.pusher) + "</td>";
    } else {
      out += "<td class=\"muted\">no build yet</td><td></td><td></td>";
    }
    out += "<td><code class=\"image\">" + Esc(summary.image) + "</code>";
    if (summary.last_succeeded) {
      out += "<div class=\"tags\">";
      for (const auto& tag : summary.last_succeeded->tags) {
        out += "<span class=\"tag\">" + Esc(tag) + "</span>";
      }
      out += "</div>" + PullLine(summary.image, *summary.last_succeeded);
    }
    out += "</td></tr>";
  }
  return out + "</tbody></table>";
}

std::string RenderBuilds(std::string_view app, const std::vector<Build>& builds,
                         std::string_view status, TimePoint now) {
  const std::string base = "/apps/" + Esc(app) + "/builds";
  std::string out = "<p class=\"crumbs\"><a href=\"/\">Apps</a> / " + Esc(app) +
                    "</p><h1>Builds of " + Esc(app) + "</h1><nav id=\"filters\"><a href=\"" + base +
                    "\" data-filter=\"\"" + (status.empty() ? " aria-current=\"page\"" : "") +
                    ">all</a>";
  for (const auto s : kStatuses) {
    out += " <a href=\"" + base + "?status=" + std::string(s) + "\" data-filter=\"" +
           std::string(s) + "\"" + (status == s ? " aria-current=\"page\"" : "") + ">" +
           std::string(s) + "</a>";
  }
  out += "</nav>";
  if (builds.empty()) return out + "<p id=\"builds\" class=\"muted\">No builds.</p>";
  out +=
      "<table id=\"builds\"><thead><tr><th>Build</th><th>Status</th><th>Trigger</th>"
      "<th>Commit</th><th>Unit</th><th>Platforms</th><th>Duration</th><th>By</th>"
      "<th>Created</th></tr></thead><tbody>";
  for (const auto& build : builds) {
    out += "<tr data-build=\"" + std::to_string(build.id) + "\" data-status=\"" +
           Esc(build.status) + "\"><td><a href=\"" + BuildUrl(build) + "\">#" +
           std::to_string(build.id) + "</a></td><td>" + StatusBadge(build.status) + "</td><td>" +
           Esc(build.triggered_by) + "</td><td><code title=\"" + Esc(build.new_sha) + "\">" +
           Esc(ShortSha(build.new_sha)) + "</code> " + Esc(build.ref) + "</td><td>" +
           Esc(build.unit) + "</td><td>" + Esc(Platforms(build)) + "</td><td>" +
           DurationText(build.started_at, build.finished_at, now) + "</td><td>" +
           Esc(build.pusher) + "</td><td>" + When(build.created_at) + "</td></tr>";
  }
  return out + "</tbody></table>";
}

std::string RenderBuild(const BuildView& view, TimePoint now) {
  const Build& build = view.build;
  const bool live = !IsTerminalBuildStatus(build.status);
  std::string out = "<div id=\"build\" data-build=\"" + std::to_string(build.id) +
                    "\" data-status=\"" + Esc(build.status) + "\"";
  if (live) out += " data-events=\"" + BuildUrl(build) + "/events\"";
  out += "><p class=\"crumbs\"><a href=\"/\">Apps</a> / <a href=\"/apps/" + Esc(build.app) +
         "/builds\">" + Esc(build.app) + "</a></p><h1>Build #" + std::to_string(build.id) + " " +
         StatusBadge(build.status) + "</h1>";
  if (view.can_write) {
    out += "<div class=\"actions\">" +
           PostForm("rebuild", BuildUrl(build) + "/rebuild", view.csrf, "Rebuild") +
           (live ? PostForm("cancel", BuildUrl(build) + "/cancel", view.csrf, "Cancel", "danger")
                 : "") +
           "</div>";
  }
  out += "<dl class=\"facts\"><dt>Unit</dt><dd>" + Esc(build.unit) + "</dd><dt>Trigger</dt><dd>" +
         Esc(build.triggered_by) + " by " + Esc(build.pusher) + "</dd><dt>Commit</dt><dd><code>" +
         Esc(build.new_sha) + "</code> " + Esc(build.ref) + "</dd>";
  if (view.commit) {
    out += "<dt>Author</dt><dd id=\"commit-author\">" + Esc(view.commit->author) +
           "</dd><dt>Message</dt><dd><pre id=\"commit-message\">" + Esc(view.commit->message) +
           "</pre></dd>";
  }
  if (!build.source_url.empty()) {
    out += "<dt>Upstream</dt><dd>" + Esc(build.source_url) + " <code>" +
           Esc(ShortSha(build.source_sha)) + "</code></dd>";
  }
  out += "<dt>Created</dt><dd>" + When(build.created_at) + "</dd><dt>Duration</dt><dd>" +
         DurationText(build.started_at, build.finished_at, now) + "</dd>";
  if (!build.index_digest.empty()) {
    out += "<dt>Index</dt><dd><code id=\"index-digest\">" + Esc(view.image) + "@" +
           Esc(build.index_digest) + "</code></dd><dt>Tags</dt><dd id=\"tags\">";
    for (const auto& tag : build.tags) out += "<span class=\"tag\">" + Esc(tag) + "</span>";
    out += "</dd><dt>Pull</dt><dd>" + PullLine(view.image, build) + "</dd>";
  }
  if (!build.error.empty()) {
    out += "<dt>Error</dt><dd id=\"build-error\" class=\"error\">" + Esc(build.error) + "</dd>";
  }
  out +=
      "</dl><h2>Jobs</h2><table id=\"jobs\"><thead><tr><th>Unit</th><th>Platform</th>"
      "<th>Status</th><th>Duration</th><th>Tag</th></tr></thead><tbody>";
  const std::vector<Build> push = view.push.empty() ? std::vector{build} : view.push;
  for (const auto& unit : push) {
    for (const auto& job : unit.jobs) {
      out += "<tr id=\"" + Esc(JobRowId(unit, job)) + "\" data-unit=\"" + Esc(unit.unit) +
             "\" data-platform=\"" + Esc(job.platform) + "\" data-status=\"" + Esc(job.status) +
             "\"" + (unit.id == build.id ? " class=\"this\"" : "") + "><td><a href=\"" +
             BuildUrl(unit) + "\">" + Esc(unit.unit) + "</a></td><td>" + Esc(job.platform) +
             "</td><td>" + StatusBadge(job.status) + "</td><td>" +
             DurationText(job.started_at, job.finished_at, now) + "</td><td><code>" + Esc(job.tag) +
             "</code></td></tr>";
    }
  }
  out += "</tbody></table>" + Timeline(push, now) + "<h2>Logs</h2><div id=\"logs\">";
  for (const auto& log : view.logs) {
    std::string status;
    for (const auto& job : build.jobs) {
      if (job.platform == log.platform) status = job.status;
    }
    const std::string platform = Esc(log.platform);
    out += "<section class=\"log\" id=\"log-" + Esc(PlatformId(log.platform)) +
           "\" data-platform=\"" + platform + "\"><h3>" + platform + " " + StatusBadge(status) +
           " <a href=\"" + BuildUrl(build) + "/log?platform=" + platform +
           "\" class=\"raw\">full log</a></h3>";
    if (log.skipped > 0) {
      out += "<p class=\"muted\">" + std::to_string(log.skipped) + " earlier lines not shown</p>";
    }
    out += "<pre><code data-log=\"" + platform + "\">";
    for (size_t i = 0; i < log.lines.size(); ++i) {
      if (log.failed_step == i) {
        out += "<span class=\"line failed-step\" id=\"failed-step-" +
               Esc(PlatformId(log.platform)) + "\">";
      } else {
        out += "<span class=\"line\">";
      }
      out += Esc(log.lines[i]) + "\n</span>";
    }
    out += "</code></pre></section>";
  }
  return out + "</div></div>";
}

}  // namespace hephy
