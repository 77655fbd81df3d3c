#include "web/web_ui.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>

#include "api/api_request.h"
#include "api/api_tokens.h"
#include "api/request_log.h"
#include "api/transport_security.h"
#include "build/build_log_reader.h"
#include "build/image_tags.h"
#include "ssh/ssh_server.h"
#include "store/rights.h"
#include "util/logging.h"
#include "web/commit_summary.h"
#include "web/web_assets.h"
#include "web/web_pages.h"

namespace hephy {
namespace {

using Clock = std::chrono::system_clock;

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("web");
  return logger;
}

// The build page shows this many of each platform's last log lines; the
// whole log is a link away.
constexpr size_t kPageLogLines = 200;
// The builds page reads this many of an app's newest builds, then filters.
constexpr int kBuildsRead = 200;
// A streamed text log goes out in chunks of about this size.
constexpr size_t kChunkBytes = 64 * 1024;

// A refusal or a missing thing, answered with a page of its own.
class PageError : public Error {
 public:
  PageError(int status, std::string heading, const std::string& message)
      : Error(message), status_(status), heading_(std::move(heading)) {}
  int status() const { return status_; }
  const std::string& heading() const { return heading_; }

 private:
  int status_;
  std::string heading_;
};

PageError NotFound(const std::string& message) { return PageError(404, "Not found", message); }

std::vector<std::pair<std::string, std::string>> SecurityHeaders() {
  return {{"Content-Security-Policy", kContentSecurityPolicy},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "same-origin"},
          {"X-Frame-Options", "DENY"},
          {"Cache-Control", "no-store"}};
}

HttpServerResponse Html(int status, std::string body) {
  return {status, "text/html; charset=utf-8", SecurityHeaders(), std::move(body)};
}

HttpServerResponse SeeOther(const std::string& location) {
  HttpServerResponse response = Html(303, "");
  response.headers.emplace_back("Location", location);
  return response;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? "" : path.substr(slash);
  }
  return out;
}

std::optional<int64_t> BuildId(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos) {
    return std::nullopt;
  }
  const int64_t id = std::stoll(std::string(text));
  return id > 0 ? std::optional(id) : std::nullopt;
}

bool IsBuildStatus(std::string_view status) {
  for (const char* known :
       {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"}) {
    if (status == known) return true;
  }
  return false;
}

}  // namespace

// One request: the database, the session and what the user may read.
class WebUi::Request {
 public:
  Request(WebUi& ui, const HttpServerRequest& http) : ui_(ui), config_(ui.config_), http_(http) {}

  Store& store() {
    if (!store_) {
      try {
        store_.emplace(config_.DatabasePath());
      } catch (const std::exception& e) {
        throw PageError(503, "Unavailable", std::string("database unavailable: ") + e.what());
      }
    }
    return *store_;
  }

  bool secure() const { return SchemeOf(config_, http_) == "https"; }

  // The session the request's cookie names, if it still holds.
  const std::optional<SignedIn>& Session() {
    if (!resolved_) {
      resolved_ = true;
      secret_ = SessionCookieValue(http_.Header("cookie"));
      if (!secret_.empty()) {
        if (const auto refusal = CredentialsRefusal(config_, http_)) {
          throw PageError(403, "Refused", *refusal);
        }
        signed_in_ = ResolveSession(ui_.sessions_, store(), secret_, Clock::now());
      }
    }
    return signed_in_;
  }
  const std::string& secret() const { return secret_; }
  std::string who() const { return signed_in_ ? signed_in_->user.name : "-"; }

  PageFrame Frame(std::string title, std::string page) {
    PageFrame frame{std::move(title), std::move(page), std::nullopt, ""};
    if (signed_in_) {
      frame.user = signed_in_->user.name;
      frame.csrf = signed_in_->session.csrf;
    }
    return frame;
  }

  // The app `name` if the user may read it; 404 alike for an app that does
  // not exist and one they may not read.
  std::pair<App, AppAccess> ReadableApp(std::string_view name) {
    const auto app = store().FindApp(std::string(name));
    const AppAccess access = app ? AccessOf(store(), *app, signed_in_->user) : AppAccess::kNone;
    if (access < AppAccess::kRead) throw NotFound("no app '" + std::string(name) + "'");
    return {*app, access};
  }

  // Build `id` of `app`, which the user may read.
  Build ReadableBuild(const App& app, std::string_view id_text) {
    const auto id = BuildId(id_text);
    const auto build = id ? store().FindBuild(*id) : std::nullopt;
    if (!build || build->app != app.name) {
      throw NotFound("no build " + std::string(id_text) + " of app '" + app.name + "'");
    }
    return *build;
  }

  std::string Image(const std::string& app) const {
    return config_.registry.url + "/" + RepositoryFor(config_.registry.repository, app);
  }

  void Audit(const std::string& action, const std::string& target, const std::string& detail) {
    store().Audit({who(), action, target, detail, http_.remote});
  }

 private:
  WebUi& ui_;
  const Config& config_;
  const HttpServerRequest& http_;
  std::optional<Store> store_;
  bool resolved_ = false;
  std::string secret_;
  std::optional<SignedIn> signed_in_;
};

WebUi::WebUi(const Config& config, WebActions actions, AuthThrottle* throttle)
    : config_(config), actions_(std::move(actions)), throttle_(throttle) {}

bool WebUi::Serves(const HttpServerRequest& request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/" || path == "/sign-in" || path == "/sign-out" || path == "/apps" ||
         path.starts_with("/apps/") || path.starts_with("/assets/");
}

void WebUi::Handle(const HttpServerRequest& http, HttpExchange& exchange) {
  const auto question = http.target.find('?');
  const std::string path = http.target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : http.target.substr(question + 1);
  Request request(*this, http);
  RequestLog log_line(
      *Log(), http, path, [&] { return request.who(); },
      [&](int) {
        return path.starts_with("/assets/") ? spdlog::level::debug : spdlog::level::info;
      });
  int& status = log_line.status;
  const auto respond = [&](HttpServerResponse response) {
    status = response.status;
    exchange.Respond(std::move(response));
  };
  const auto page = [&](int code, PageFrame frame, const std::string& main) {
    respond(Html(code, RenderPage(frame, main)));
  };

  try {
    if (path.starts_with("/assets/")) {
      const WebAsset* asset = FindAsset(path);
      // No HEAD: the server would send the body after it.
      if (http.method != "GET")
        throw PageError(405, "Method not allowed", "assets are read with GET");
      if (asset == nullptr) throw NotFound("no asset " + path);
      HttpServerResponse response{200, std::string(asset->content_type), SecurityHeaders(),
                                  std::string(asset->bytes)};
      response.headers.back() = {"Cache-Control", "public, max-age=31536000, immutable"};
      return respond(std::move(response));
    }
    const auto& session = request.Session();
    const auto segments = Segments(path);

    if (http.method == "POST") {
      if (const auto refusal = CredentialsRefusal(config_, http)) {
        throw PageError(403, "Refused", *refusal);
      }
      // A form posted from another site: SameSite=Strict keeps the cookie
      // from coming along, and the CSRF token refuses it anyway; the origin
      // check covers the sign-in form, which has no token yet.
      const std::string origin = http.Header("origin");
      const std::string own = SchemeOf(config_, http) + "://" + http.Header("host");
      if (!origin.empty() && origin != own) {
        throw PageError(403, "Refused", "a form of " + origin + " may not post to " + own);
      }
      std::map<std::string, std::string> form;
      try {
        form = ParseQuery(http.body);
      } catch (const ApiError& e) {
        throw PageError(400, "Bad request", e.what());
      }
      if (path == "/sign-in") {
        const std::string host = HostOfAddress(http.remote);
        const auto now = AuthThrottle::Clock::now();
        if (const auto until = throttle_ ? throttle_->BlockedUntil(host, now) : std::nullopt) {
          const auto seconds = std::chrono::ceil<std::chrono::seconds>(*until - now).count();
          HttpServerResponse response = Html(
              429, RenderPage(request.Frame("Sign in", "sign-in"),
                              RenderSignIn("Too many failed attempts from " + host +
                                               "; try again in " + std::to_string(seconds) + "s.",
                                           form["user"])));
          response.headers.emplace_back("Retry-After", std::to_string(seconds));
          return respond(std::move(response));
        }
        const std::string user = form["user"];
        const std::string token = form["token"];
        const auto found = LooksLikeApiToken(token)
                               ? request.store().FindUserByApiToken(HashApiToken(token))
                               : std::nullopt;
        if (!found || found->name != user) {
          if (throttle_ && throttle_->Failed(host, now)) {
            Log()->warn("remote={} blocked for {}s: too many failed attempts (ssh.auth_failures)",
                        http.remote, config_.ssh.auth_failures.block.count());
          }
          Log()->info("remote={} sign-in as '{}' refused: unknown user or API token", http.remote,
                      user);
          return page(403, request.Frame("Sign in", "sign-in"),
                      RenderSignIn("Unknown user or API token.", user));
        }
        const auto started = sessions_.Start(found->name, HashApiToken(token), Clock::now());
        request.store().Audit({found->name, "web.sign-in", found->name, "", http.remote});
        HttpServerResponse response = SeeOther("/");
        response.headers.emplace_back(
            "Set-Cookie", SessionCookie(started.secret, request.secure(), sessions_.lifetime()));
        return respond(std::move(response));
      }
      if (!session) {
        throw PageError(403, "Refused", "sign in first: this form needs a session");
      }
      if (!CsrfTokenMatches(session->session.csrf, form["csrf"])) {
        throw PageError(403, "Refused",
                        "the form's CSRF token is missing or not this session's; reload the page "
                        "and try again");
      }
      if (path == "/sign-out") {
        sessions_.End(request.secret());
        request.Audit("web.sign-out", session->user.name, "");
        HttpServerResponse response = SeeOther("/");
        response.headers.emplace_back("Set-Cookie", ClearedSessionCookie(request.secure()));
        return respond(std::move(response));
      }
      if (segments.size() == 5 && segments[0] == "apps" && segments[2] == "builds" &&
          (segments[4] == "rebuild" || segments[4] == "cancel")) {
        const auto [app, access] = request.ReadableApp(segments[1]);
        const Build build = request.ReadableBuild(app, segments[3]);
        if (access < AppAccess::kWrite) {
          throw PageError(403, "Refused",
                          session->user.name + " may not rebuild or cancel builds of app '" +
                              app.name + "' (" + std::string(Describe(access)) + ")");
        }
        const std::string build_url = "/apps/" + app.name + "/builds/" + std::to_string(build.id);
        if (segments[4] == "rebuild") {
          const std::string refusal =
              actions_.rebuild ? actions_.rebuild(app.name, build.unit, session->user.name)
                               : "this hephyd takes no rebuilds from the web page";
          if (!refusal.empty()) throw PageError(503, "Not rebuilt", refusal);
          request.Audit("web.rebuild", app.name, "unit " + build.unit);
          return respond(SeeOther("/apps/" + app.name + "/builds"));
        }
        if (IsTerminalBuildStatus(build.status) || !actions_.cancel ||
            !actions_.cancel(build.id, session->user.name)) {
          throw PageError(409, "Not cancelled",
                          "build " + std::to_string(build.id) + " is not running in this hephyd");
        }
        request.Audit("web.cancel", app.name, "build " + std::to_string(build.id));
        return respond(SeeOther(build_url));
      }
      throw NotFound("no such form: " + path);
    }

    if (http.method != "GET") {
      HttpServerResponse response =
          Html(405, RenderPage(request.Frame("Method not allowed", "error"),
                               RenderMessage("Method not allowed", "use GET or POST")));
      response.headers.emplace_back("Allow", "GET, POST");
      return respond(std::move(response));
    }
    if (!session) {
      if (path == "/") {
        return page(200, request.Frame("Sign in", "sign-in"), RenderSignIn("", ""));
      }
      if (segments.size() == 5 && segments[4] == "events") {
        return respond({401, "text/plain; charset=utf-8", SecurityHeaders(), "sign in first\n"});
      }
      return respond(SeeOther("/"));
    }
    const auto now = Clock::now();
    if (path == "/" || path == "/apps") {
      std::vector<AppSummary> apps;
      for (const auto& app : request.store().ListApps()) {
        if (AccessOf(request.store(), app, session->user) < AppAccess::kRead) continue;
        AppSummary summary{app, std::nullopt, std::nullopt, request.Image(app.name)};
        for (auto& build : request.store().ListBuilds(app.name, 50)) {
          if (!summary.last) summary.last = build;
          if (build.status == "succeeded") {
            summary.last_succeeded = std::move(build);
            break;
          }
        }
        apps.push_back(std::move(summary));
      }
      return page(200, request.Frame("Apps", "apps"), RenderApps(apps, now));
    }
    if (segments.size() < 3 || segments[0] != "apps" || segments[2] != "builds") {
      throw NotFound("no such page: " + path);
    }
    const auto [app, access] = request.ReadableApp(segments[1]);
    std::map<std::string, std::string> params;
    try {
      params = ParseQuery(query);
    } catch (const ApiError& e) {
      throw PageError(400, "Bad request", e.what());
    }
    if (segments.size() == 3) {
      const std::string filter = params["status"];
      if (!filter.empty() && !IsBuildStatus(filter)) {
        throw PageError(400, "Bad request", "no build status '" + filter + "'");
      }
      std::vector<Build> builds = request.store().ListBuilds(app.name, kBuildsRead);
      if (!filter.empty()) {
        std::erase_if(builds, [&](const Build& b) { return b.status != filter; });
      }
      return page(200, request.Frame("Builds of " + app.name, "builds"),
                  RenderBuilds(app.name, builds, filter, now));
    }
    const Build build = request.ReadableBuild(app, segments[3]);
    if (segments.size() == 4) {
      BuildView view{build, {}, std::nullopt, request.Image(app.name), {}, false, ""};
      if (!build.push_id.empty()) {
        for (auto& other : request.store().ListBuilds(app.name, kBuildsRead)) {
          if (other.push_id == build.push_id) view.push.push_back(std::move(other));
        }
        std::sort(view.push.begin(), view.push.end(),
                  [](const Build& a, const Build& b) { return a.id < b.id; });
      }
      view.commit = ReadCommitSummary(config_.ReposDir() / (app.name + ".git"), build.new_sha);
      for (const auto& job : build.jobs) {
        JobLogView log{job.platform, {}, 0, std::nullopt};
        std::deque<std::string> lines;
        BuildLogReader(build, job.platform).ReadAll([&](std::string_view line) {
          lines.emplace_back(line);
          if (lines.size() > kPageLogLines) {
            lines.pop_front();
            ++log.skipped;
          }
        });
        log.lines.assign(lines.begin(), lines.end());
        if (job.status == "failed") log.failed_step = FailingStep(log.lines);
        view.logs.push_back(std::move(log));
      }
      view.can_write = access >= AppAccess::kWrite;
      view.csrf = session->session.csrf;
      return page(200,
                  request.Frame("Build #" + std::to_string(build.id) + " of " + app.name, "build"),
                  RenderBuild(view, now));
    }
    if (segments.size() != 5) throw NotFound("no such page: " + path);

    if (segments[4] == "log") {
      std::optional<BuildLogReader> reader;
      try {
        reader.emplace(
            build, params.contains("platform") ? std::optional(params["platform"]) : std::nullopt);
      } catch (const Error& e) {
        throw NotFound(e.what());
      }
      status = 200;
      HttpServerResponse head{200, "text/plain; charset=utf-8", SecurityHeaders(), ""};
      if (!exchange.StartStream(head)) return;
      std::string chunk;
      bool reading = true;
      reader->ReadAll([&](std::string_view line) {
        chunk.append(line);
        chunk += '\n';
        if (reading && chunk.size() >= kChunkBytes) {
          reading = exchange.Write(chunk);
          chunk.clear();
        }
      });
      if (reading && (chunk.empty() || exchange.Write(chunk))) exchange.Finish();
      return;
    }
    if (segments[4] != "events") throw NotFound("no such page: " + path);

    // Server-sent events: "line" events {"platform", "text"} for every line
    // of the build's logs from their start, live while it runs, then one
    // "end" event {"status"}. A client that reconnects gets them all again.
    std::vector<std::string> platforms;
    for (const auto& job : build.jobs) platforms.push_back(job.platform);
    BuildLogReader reader(build, std::nullopt);
    status = 200;
    HttpServerResponse head{200, "text/event-stream; charset=utf-8", SecurityHeaders(), ""};
    head.headers.emplace_back("X-Accel-Buffering", "no");
    if (!exchange.StartStream(head)) return;
    std::string chunk = "retry: 3000\n\n";
    bool reading = true;
    const auto flush = [&] {
      if (reading && !chunk.empty()) reading = exchange.Write(chunk);
      chunk.clear();
      return reading;
    };
    const auto line = [&](std::string_view text) {
      std::string platform = platforms.size() == 1 ? platforms.front() : "";
      for (const auto& p : platforms) {
        const std::string prefix = "[" + p + "] ";
        if (platforms.size() > 1 && text.starts_with(prefix)) {
          platform = p;
          text.remove_prefix(prefix.size());
          break;
        }
      }
      const nlohmann::json event = {{"platform", platform}, {"text", text}};
      chunk += "event: line\ndata: " +
               event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
      if (chunk.size() >= kChunkBytes) flush();
    };
    bool complete = false;
    if (!IsTerminalBuildStatus(build.status)) {
      complete = reader.Follow(request.store(), line, flush, exchange.stopping());
    } else {
      reader.ReadAll(line);
      complete = flush();
    }
    if (!complete) return;
    const auto final_build = request.store().FindBuild(build.id);
    chunk += "event: end\ndata: " +
             nlohmann::json({{"status", final_build ? final_build->status : "unknown"}}).dump() +
             "\n\n";
    if (flush()) exchange.Finish();
  } catch (const PageError& e) {
    if (status == 0) {
      page(e.status(), request.Frame(e.heading(), "error"), RenderMessage(e.heading(), e.what()));
    }
  } catch (const SQLite::Exception& e) {
    Log()->error("{} {}: database: {}", http.method, path, e.what());
    if (status == 0) {
      page(503, request.Frame("Unavailable", "error"),
           RenderMessage("Unavailable", std::string("database: ") + e.what()));
    }
  } catch (const std::exception& e) {
    Log()->error("{} {}: {}", http.method, path, e.what());
    if (status == 0) {
      page(500, request.Frame("Error", "error"), RenderMessage("Error", "internal error"));
    }
  }
}

}  // namespace hephy
