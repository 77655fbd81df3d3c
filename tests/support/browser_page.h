// One tab of a headless Chromium (see headless_chromium.h), driven over the
// DevTools protocol for browser tests. Each page has a browser context of its
// own: cookies and storage are not shared with other pages, and end with it.
//
//   HeadlessChromium chromium;
//   std::unique_ptr<BrowserPage> page = chromium.NewPage();
//   EXPECT_EQ(page->Navigate(url), 200);               // waits for the load event
//   page->Type("#user", "alice");                      // focus + Input.insertText
//   page->Click("button[type=submit]");                // real mouse events
//   page->WaitFor("document.querySelectorAll('li').length >= 3");
//   json title = page->Evaluate("document.title");     // JSON value, promises awaited
//   page->Cookies();                                   // with httpOnly and sameSite
//   page->console(); page->log_entries();              // what the page logged
//   page->Screenshot(dir / "page.png");                // PNG of the viewport
//
// Every call waits at most `timeout` (Options), and throws DevToolsError
// naming what failed: the URL that did not load, the expression that threw,
// the condition that did not become true (with its last value or error), the
// selector that matched nothing. Not thread-safe: one thread drives a page.
// Events (console messages, log entries, responses) are taken in whenever
// the page waits for Chromium, in the order they happened.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "devtools_connection.h"
#include "util/base64.h"

namespace hephy {

// A console.log/info/warn/error call of the page.
struct ConsoleMessage {
  std::string type;  // "log", "info", "warning", "error", "debug", ...
  std::string text;  // the arguments, each as a string, joined by spaces
};

// An entry of the browser's own log (Log.entryAdded): network errors,
// Content-Security-Policy violations, deprecations.
struct LogEntry {
  std::string source;  // "network", "security" (CSP), "javascript", "violation", ...
  std::string level;   // "verbose", "info", "warning", "error"
  std::string text;
  std::string url;
};

// A cookie as the browser keeps it (Network.getCookies).
struct BrowserCookie {
  std::string name, value, domain, path;
  bool http_only = false;
  bool secure = false;
  bool session = false;   // no Expires or Max-Age
  std::string same_site;  // "Strict", "Lax", "None", or "" when not set
  double expires = -1;    // seconds since the epoch; -1 for a session cookie
};

class BrowserPage {
 public:
  using Clock = DevToolsConnection::Clock;
  struct Options {
    // The viewport, in CSS pixels at a device scale factor of 1: screenshots
    // have exactly this size.
    int width = 1280;
    int height = 800;
    // The longest any one call waits, unless it takes a timeout of its own.
    std::chrono::milliseconds timeout = std::chrono::seconds(15);
  };

  // Opens a new tab in a new browser context of the browser behind `browser`
  // (on DevTools port `port`), at about:blank. `browser` must outlive the
  // page. Prefer HeadlessChromium::NewPage().
  BrowserPage(DevToolsConnection& browser, uint16_t port, const Options& options)
      : browser_(browser), options_(options) {
    const auto deadline = Deadline();
    context_id_ =
        browser_.Call("Target.createBrowserContext", {{"disposeOnDetach", true}}, deadline)
            .at("browserContextId");
    target_id_ = browser_
                     .Call("Target.createTarget",
                           {{"url", "about:blank"}, {"browserContextId", context_id_}}, deadline)
                     .at("targetId");
    page_ = std::make_unique<DevToolsConnection>(port, "/devtools/page/" + target_id_, deadline);
    page_->OnEvent([this](const std::string& method, const nlohmann::json& params) {
      HandleEvent(method, params);
    });
    for (const char* domain : {"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"}) {
      page_->Call(domain, nlohmann::json::object(), deadline);
    }
    page_->Call("Emulation.setDeviceMetricsOverride",
                {{"width", options_.width},
                 {"height", options_.height},
                 {"deviceScaleFactor", 1},
                 {"mobile", false}},
                deadline);
  }

  // Closes the tab and drops its browser context (cookies, storage).
  ~BrowserPage() {
    page_.reset();
    try {
      browser_.Call("Target.closeTarget", {{"targetId", target_id_}}, Deadline());
      browser_.Call("Target.disposeBrowserContext", {{"browserContextId", context_id_}},
                    Deadline());
    } catch (const std::exception&) {
      // The browser is going away anyway: it is killed with its process group.
    }
  }
  BrowserPage(const BrowserPage&) = delete;
  BrowserPage& operator=(const BrowserPage&) = delete;

  // Loads `url` and waits for its load event; returns the HTTP status of the
  // document (0 for one that came from no HTTP response, like about:blank).
  // Throws naming the URL when it cannot be loaded (connection refused, a
  // download) or its load event does not come in time.
  int Navigate(const std::string& url) {
    const auto deadline = Deadline();
    const int loads_before = loads_;
    const nlohmann::json result = page_->Call("Page.navigate", {{"url", url}}, deadline);
    if (!result.value("errorText", "").empty()) {
      throw DevToolsError("navigating to " + url + ": " + result["errorText"].get<std::string>());
    }
    if (!page_->PumpUntil([&] { return loads_ > loads_before; }, deadline)) {
      throw DevToolsError("navigating to " + url + ": no load event within " +
                          Seconds(options_.timeout));
    }
    const auto status = statuses_.find(result.value("loaderId", ""));
    return status == statuses_.end() ? 0 : status->second;
  }

  // Headers sent with every request of the page from now on, such as
  // {"Authorization", "Bearer TOKEN"}; replaces those set before.
  void SetExtraHeaders(const std::map<std::string, std::string>& headers) {
    page_->Call("Network.setExtraHTTPHeaders", {{"headers", headers}}, Deadline());
  }

  // The value of the JavaScript `expression` in the page, as JSON (a promise
  // is awaited; undefined is null; what JSON cannot hold, such as a DOM node,
  // comes as {}). Throws naming the expression and the exception it threw.
  nlohmann::json Evaluate(const std::string& expression) {
    return Evaluate(expression, Deadline());
  }

  // Waits until the JavaScript `condition` is truthy and returns its value.
  // The page checks it at once, after every change of the DOM, and every 20
  // ms (for conditions on anything else), and again after a navigation; a
  // condition that throws counts as false. Throws naming the condition, with
  // its last value or exception, when `timeout` (default: Options) passes.
  nlohmann::json WaitFor(const std::string& condition, std::chrono::milliseconds timeout = {}) {
    if (timeout.count() == 0) timeout = options_.timeout;
    const auto deadline = Clock::now() + timeout;
    std::string last = "no answer from the page";
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      nlohmann::json result;
      try {
        result = Evaluate(WaitScript(condition, left.count()), deadline + std::chrono::seconds(5));
      } catch (const DevToolsError& e) {
        // A navigation destroys the context the check ran in: check again in
        // the new one. A condition that does not even parse never will.
        last = e.what();
        if (last.find("SyntaxError") != std::string::npos) throw;
        continue;
      }
      if (result.value("ok", false)) return result["value"];
      last = result.contains("error") && !result["error"].is_null()
                 ? "it threw " + result["error"].get<std::string>()
                 : "its last value was " + result.value("last", "undefined");
      break;
    }
    throw DevToolsError("timed out after " + Seconds(timeout) + " waiting for `" +
                        Shorten(condition) + "`: " + last);
  }

  // A left click at the middle of the first element matching the CSS
  // `selector`, scrolled into view first, with the mouse events a user's
  // click makes (trusted events). Throws when nothing matches.
  void Click(const std::string& selector) {
    const auto deadline = Deadline();
    const nlohmann::json at =
        Evaluate("(() => { const e = document.querySelector(" + nlohmann::json(selector).dump() +
                     "); if (!e) return null; e.scrollIntoView({block: "
                     "'center'}); const r = e.getBoundingClientRect(); "
                     "return {x: r.x + r.width / 2, y: r.y + r.height / "
                     "2}; })()",
                 deadline);
    if (at.is_null()) throw DevToolsError("click: no element matches `" + selector + "`");
    for (const char* type : {"mouseMoved", "mousePressed", "mouseReleased"}) {
      page_->Call("Input.dispatchMouseEvent",
                  {{"type", type},
                   {"x", at["x"]},
                   {"y", at["y"]},
                   {"button", "left"},
                   {"buttons", std::string(type) == "mousePressed" ? 1 : 0},
                   {"clickCount", 1}},
                  deadline);
    }
  }

  // Focuses the first element matching `selector` and types `text` into it
  // where its cursor is, as an input method would (input events fire).
  void Type(const std::string& selector, const std::string& text) {
    const auto deadline = Deadline();
    const bool found =
        Evaluate("(() => { const e = document.querySelector(" + nlohmann::json(selector).dump() +
                     "); if (!e) return false; e.focus(); return true; })()",
                 deadline)
            .get<bool>();
    if (!found) throw DevToolsError("type: no element matches `" + selector + "`");
    page_->Call("Input.insertText", {{"text", text}}, deadline);
  }

  // Presses and releases a key on the focused element: "Enter" (submits a
  // form), "Tab", "Escape" or "Backspace".
  void Press(const std::string& key) {
    static const std::map<std::string, std::pair<int, std::string>> kKeys = {
        {"Enter", {13, "\r"}}, {"Tab", {9, ""}}, {"Escape", {27, ""}}, {"Backspace", {8, ""}}};
    const auto found = kKeys.find(key);
    if (found == kKeys.end()) throw DevToolsError("press: unknown key " + key);
    const auto deadline = Deadline();
    const auto& [code, text] = found->second;
    nlohmann::json down = {{"type", text.empty() ? "rawKeyDown" : "keyDown"},
                           {"key", key},
                           {"code", key},
                           {"windowsVirtualKeyCode", code}};
    if (!text.empty()) down["text"] = text;
    page_->Call("Input.dispatchKeyEvent", down, deadline);
    page_->Call("Input.dispatchKeyEvent",
                {{"type", "keyUp"}, {"key", key}, {"code", key}, {"windowsVirtualKeyCode", code}},
                deadline);
  }

  // The cookies the page's current URL would be sent, HttpOnly ones too.
  std::vector<BrowserCookie> Cookies() {
    const nlohmann::json result =
        page_->Call("Network.getCookies", nlohmann::json::object(), Deadline());
    std::vector<BrowserCookie> cookies;
    for (const auto& c : result.at("cookies")) {
      cookies.push_back({c.value("name", ""), c.value("value", ""), c.value("domain", ""),
                         c.value("path", ""), c.value("httpOnly", false), c.value("secure", false),
                         c.value("session", false), c.value("sameSite", ""),
                         c.value("expires", -1.0)});
    }
    return cookies;
  }

  // Writes a PNG of the viewport (Options' width by height) to `path`.
  void Screenshot(const std::filesystem::path& path) {
    const nlohmann::json result =
        page_->Call("Page.captureScreenshot", {{"format", "png"}}, Deadline());
    const std::optional<std::string> png = Base64Decode(result.at("data").get<std::string>());
    if (!png) throw DevToolsError("screenshot: Chromium sent data that is not base64");
    std::ofstream out(path, std::ios::binary);
    out << *png;
    if (!out.flush()) throw DevToolsError("screenshot: cannot write " + path.string());
  }

  // What the page and the browser logged so far, oldest first. Pending
  // events are taken in by any call that waits for Chromium, or Sync().
  const std::vector<ConsoleMessage>& console() const { return console_; }
  const std::vector<LogEntry>& log_entries() const { return log_; }
  // Uncaught exceptions and unhandled rejections of the page's scripts.
  const std::vector<std::string>& exceptions() const { return exceptions_; }

  // Waits for a console message containing `needle` (logged before or from
  // now on) and returns it; throws naming the needle after `timeout`.
  ConsoleMessage WaitForConsole(const std::string& needle, std::chrono::milliseconds timeout = {}) {
    return WaitForEvent(console_, needle, timeout, "a console message");
  }
  // The same for the browser's log: a Content-Security-Policy violation is
  // an error whose source is "security" and whose text names the directive
  // ("... violates the following Content Security Policy directive ...").
  LogEntry WaitForLogEntry(const std::string& needle, std::chrono::milliseconds timeout = {}) {
    return WaitForEvent(log_, needle, timeout, "a log entry");
  }

  // Takes in every event Chromium sent before this call.
  void Sync() { Evaluate("0"); }

 private:
  Clock::time_point Deadline() const { return Clock::now() + options_.timeout; }

  nlohmann::json Evaluate(const std::string& expression, Clock::time_point deadline) {
    const nlohmann::json result = page_->Call("Runtime.evaluate",
                                              {{"expression", expression},
                                               {"returnByValue", true},
                                               {"awaitPromise", true},
                                               {"userGesture", true}},
                                              deadline);
    if (result.contains("exceptionDetails")) {
      const auto& details = result["exceptionDetails"];
      std::string what = details.value("text", "exception");
      if (details.contains("exception")) {
        what = details["exception"].value("description", details["exception"].dump());
      }
      throw DevToolsError("evaluating `" + Shorten(expression) + "`: " + what);
    }
    const auto& value = result.at("result");
    if (value.contains("value")) return value["value"];
    if (value.contains("unserializableValue")) return value["unserializableValue"];  // NaN, 1n
    return nullptr;                                                                  // undefined
  }

  // A promise that resolves with {ok: true, value} once `condition` is
  // truthy, or {ok: false, last, error} after `ms`.
  static std::string WaitScript(const std::string& condition, long long ms) {
    return "new Promise((resolve) => {\n"
           "  let last, error, observer, timer, stop, done = false;\n"
           "  const finish = (r) => { if (done) return; done = true; observer.disconnect();\n"
           "    clearInterval(timer); clearTimeout(stop); resolve(r); };\n"
           "  const check = () => {\n"
           "    try { const v = (\n" +
           condition +
           "\n); error = undefined; last = v; if (v) finish({ok: true, value: v}); }\n"
           "    catch (e) { error = String(e); }\n"
           "  };\n"
           "  observer = new MutationObserver(check);\n"
           "  observer.observe(document, {subtree: true, childList: true, attributes: true,\n"
           "    characterData: true});\n"
           "  timer = setInterval(check, 20);\n"
           "  stop = setTimeout(() => finish({ok: false, last: String(last), error}), " +
           std::to_string(ms) +
           ");\n"
           "  check();\n"
           "})";
  }

  template <typename Event>
  Event WaitForEvent(const std::vector<Event>& events, const std::string& needle,
                     std::chrono::milliseconds timeout, const std::string& what) {
    if (timeout.count() == 0) timeout = options_.timeout;
    const auto matches = [&] {
      return std::find_if(events.begin(), events.end(),
                          [&](const Event& e) { return e.text.find(needle) != std::string::npos; });
    };
    if (!page_->PumpUntil([&] { return matches() != events.end(); }, Clock::now() + timeout)) {
      std::string seen;
      for (const auto& e : events) seen += "\n  " + e.text;
      throw DevToolsError("timed out after " + Seconds(timeout) + " waiting for " + what +
                          " containing \"" + needle + "\"; there were " +
                          std::to_string(events.size()) + seen);
    }
    return *matches();
  }

  void HandleEvent(const std::string& method, const nlohmann::json& params) {
    if (method == "Page.loadEventFired") {
      ++loads_;
    } else if (method == "Network.responseReceived") {
      // A document's request has its navigation's loader id as its id.
      if (params.value("type", "") == "Document") {
        statuses_[params.value("requestId", "")] = params["response"].value("status", 0);
      }
    } else if (method == "Runtime.consoleAPICalled") {
      std::string text;
      for (const auto& arg : params.value("args", nlohmann::json::array())) {
        if (!text.empty()) text += ' ';
        if (arg.contains("value")) {
          text += arg["value"].is_string() ? arg["value"].get<std::string>() : arg["value"].dump();
        } else {
          text += arg.value("description", arg.value("type", ""));
        }
      }
      console_.push_back({params.value("type", ""), std::move(text)});
    } else if (method == "Runtime.exceptionThrown") {
      const auto& details = params["exceptionDetails"];
      exceptions_.push_back(details.contains("exception")
                                ? details["exception"].value("description", details.dump())
                                : details.value("text", details.dump()));
    } else if (method == "Log.entryAdded") {
      const auto& entry = params["entry"];
      log_.push_back({entry.value("source", ""), entry.value("level", ""), entry.value("text", ""),
                      entry.value("url", "")});
    }
  }

  static std::string Shorten(const std::string& text) {
    return text.size() <= 200 ? text : text.substr(0, 200) + "...";
  }
  static std::string Seconds(std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100) + " s";
  }

  DevToolsConnection& browser_;
  const Options options_;
  std::string context_id_, target_id_;
  std::unique_ptr<DevToolsConnection> page_;
  int loads_ = 0;
  std::map<std::string, int> statuses_;  // by request id
  std::vector<ConsoleMessage> console_;
  std::vector<LogEntry> log_;
  std::vector<std::string> exceptions_;
};

}  // namespace hephy
