// The browser tests' client (headless_chromium.h, browser_page.h) against
// real servers on loopback: Debian's chromium, driven over the DevTools
// protocol, loads pages of a small test server (a script that adds elements
// over time, a form, cookies, a Content-Security-Policy) and a real hephyd's
// HTTP listener. One Chromium serves the suite when the tests run in one
// process; under ctest each test starts its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "headless_chromium.h"
#include "loopback_http_server.h"
#include "test_daemon.h"
#include "test_dir.h"
#include "test_registry.h"  // FreeLoopbackPort

namespace hephy {
namespace {

using nlohmann::json;
namespace http = boost::beast::http;

// Adds an item every 100 ms from the load event on, five in all, logging each.
const char* kGrowScript = R"(
window.addEventListener('load', () => {
  let n = 0;
  const timer = setInterval(() => {
    n++;
    const li = document.createElement('li');
    li.textContent = 'item ' + n;
    document.getElementById('list').append(li);
    console.log('appended item', n);
    if (n === 5) clearInterval(timer);
  }, 100);
});
document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('greet').addEventListener('click', (e) => {
    const name = document.getElementById('name').value;
    document.getElementById('out').textContent =
        'hello ' + name + (e.isTrusted ? ' (trusted)' : ' (synthetic)');
  });
  document.getElementById('form').addEventListener('submit', (e) => {
    e.preventDefault();
    console.info('submitted', document.getElementById('name').value);
  });
});
)";

const char* kGrowPage = R"(<!doctype html>
<html><head><title>grow</title><script src="/grow.js"></script></head>
<body><ul id="list"></ul>
<form id="form"><input id="name"><button id="greet" type="button">greet</button></form>
<p id="out"></p><a id="next" href="/next">next</a></body></html>)";

// The external script is allowed by script-src 'self' and reports the
// violation the inline one below it causes.
const char* kCspScript = R"(
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('violation', e.violatedDirective);
});
)";
const char* kCspPage = R"(<!doctype html>
<html><head><title>csp</title><script src="/csp.js"></script></head>
<body><p>strict</p><script>document.title = 'inline ran';</script></body></html>)";

// The pages above, and what browsers post to it: CSP reports.
class TestSite {
 public:
  TestSite()
      : server_([this] {
          return [this](const LoopbackHttpServer::Request& request) { return Serve(request); };
        }) {}

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
  }

  // Waits for a CSP report's body; "" when none came within `timeout`.
  std::string WaitForReport(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    reported_.wait_for(lock, timeout, [&] { return !reports_.empty(); });
    return reports_.empty() ? "" : reports_.front();
  }

 private:
  LoopbackHttpServer::Response Serve(const LoopbackHttpServer::Request& request) {
    LoopbackHttpServer::Response response{http::status::ok, 11};
    const std::string target(request.target());
    const auto content = [&](const char* type, const char* body) {
      response.set(http::field::content_type, type);
      response.body() = body;
    };
    if (target == "/") {
      content("text/html; charset=utf-8", kGrowPage);
    } else if (target == "/grow.js") {
      content("text/javascript", kGrowScript);
    } else if (target == "/next") {
      content("text/html; charset=utf-8", "<!doctype html><title>next</title><h1>Next</h1>");
    } else if (target == "/csp") {
      response.set("Content-Security-Policy", "script-src 'self'; report-uri /csp-report");
      content("text/html; charset=utf-8", kCspPage);
    } else if (target == "/csp.js") {
      content("text/javascript", kCspScript);
    } else if (target == "/csp-report" && request.method() == http::verb::post) {
      const std::lock_guard lock(mutex_);
      reports_.push_back(request.body());
      reported_.notify_all();
      response.result(http::status::no_content);
    } else if (target == "/cookie") {
      response.insert(http::field::set_cookie,
                      "session=s3cret; Path=/; Max-Age=600; HttpOnly; SameSite=Strict");
      response.insert(http::field::set_cookie, "theme=dark; Path=/");
      content("text/html; charset=utf-8", "<!doctype html><title>cookie</title>");
    } else {
      response.result(http::status::not_found);
      content("text/plain", "not found\n");
    }
    return response;
  }

  std::mutex mutex_;
  std::condition_variable reported_;
  std::vector<std::string> reports_;
  LoopbackHttpServer server_;  // last: serves once the rest exists
};

// PNG's signature, then the IHDR chunk: width and height, big-endian.
struct PngSize {
  uint32_t width = 0, height = 0;
};
std::optional<PngSize> ReadPngSize(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(24, '\0');
  if (!in.read(head.data(), head.size())) return std::nullopt;
  if (head.substr(0, 8) != "\x89PNG\r\n\x1a\n" || head.substr(12, 4) != "IHDR") return std::nullopt;
  const auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(head[at + i]);
    return v;
  };
  return PngSize{be32(16), be32(20)};
}

// The processes of process group `group` that run: zombies not counted (an
// init that does not reap them may keep them).
int ProcessesInGroup(pid_t group) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so count from ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state;
    pid_t ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == group && state != "Z" && state != "X") ++count;
  }
  return count;
}

std::string Message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

class BrowserClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    chromium_ = new HeadlessChromium();
    std::cout << "chromium: " << chromium_->version() << " answered DevTools after "
              << chromium_->start_time().count() << " ms\n";
  }
  static void TearDownTestSuite() {
    delete chromium_;
    chromium_ = nullptr;
  }
  void SetUp() override {
    ::testing::Test::RecordProperty("chromium_start_ms",
                                    static_cast<int>(chromium_->start_time().count()));
  }

  static HeadlessChromium* chromium_;
  TestSite site_;
};
HeadlessChromium* BrowserClientTest::chromium_ = nullptr;

TEST_F(BrowserClientTest, WaitsForElementsAScriptAddsAfterTheLoad) {
  auto page = chromium_->NewPage();
  EXPECT_EQ(page->Navigate(site_.Url("/")), 200);
  EXPECT_EQ(page->Evaluate("document.title"), "grow");
  // The first item comes 100 ms after the load event: the wait below waits.
  EXPECT_LT(page->Evaluate("document.querySelectorAll('li').length").get<int>(), 5);
  EXPECT_EQ(page->WaitFor("document.querySelectorAll('li').length === 5 && 'five'"), "five");
  EXPECT_EQ(page->Evaluate("[...document.querySelectorAll('li')].map(li => li.textContent)"),
            json({"item 1", "item 2", "item 3", "item 4", "item 5"}));
  const ConsoleMessage logged = page->WaitForConsole("appended item 5");
  EXPECT_EQ(logged.type, "log");
  EXPECT_EQ(page->console().size(), 5u);
  // A promise is awaited, and its value comes back as JSON.
  EXPECT_EQ(page->Evaluate("new Promise(r => setTimeout(() => r({a: [1, 'b']}), 10))"),
            json({{"a", {1, "b"}}}));

  const std::string timeout = Message([&] {
    page->WaitFor("document.querySelectorAll('li').length > 5", std::chrono::milliseconds(300));
  });
  EXPECT_NE(timeout.find("timed out after 0.3 s waiting for "
                         "`document.querySelectorAll('li').length > 5`: its last value was false"),
            std::string::npos)
      << timeout;
  const std::string threw = Message([&] {
    page->WaitFor("document.querySelector('#none').textContent", std::chrono::milliseconds(200));
  });
  EXPECT_NE(threw.find("it threw TypeError"), std::string::npos) << threw;
  EXPECT_TRUE(page->exceptions().empty());
}

TEST_F(BrowserClientTest, TypesClicksAndFollowsANavigation) {
  auto page = chromium_->NewPage();
  ASSERT_EQ(page->Navigate(site_.Url("/")), 200);
  // Items added above the form would move the button under the mouse.
  page->WaitFor("document.querySelectorAll('li').length === 5");
  page->Type("#name", "alice");
  page->Press("Enter");  // in the text field: submits the form
  EXPECT_EQ(page->WaitForConsole("submitted").text, "submitted alice");
  page->Click("#greet");
  // A click made of Input events is a user's click: trusted.
  EXPECT_EQ(page->WaitFor("document.getElementById('out').textContent"), "hello alice (trusted)");

  // The link loads another page; the condition is checked again there.
  page->Click("#next");
  EXPECT_EQ(
      page->WaitFor("location.pathname === '/next' && document.querySelector('h1').textContent"),
      "Next");
  EXPECT_EQ(page->Navigate(site_.Url("/absent")), 404);
}

TEST_F(BrowserClientTest, SeesTheCspViolationOfAnInlineScript) {
  auto page = chromium_->NewPage();
  ASSERT_EQ(page->Navigate(site_.Url("/csp")), 200);
  // Chromium's own log says why the script was refused...
  const LogEntry refused = page->WaitForLogEntry("Content Security Policy");
  EXPECT_EQ(refused.source, "security");
  EXPECT_EQ(refused.level, "error");
  EXPECT_NE(refused.text.find("script-src 'self'"), std::string::npos) << refused.text;
  // ...the page's securitypolicyviolation listener saw it...
  EXPECT_EQ(page->WaitForConsole("violation").text, "violation script-src-elem");
  // ...the inline script did not run, and the report reached the server.
  EXPECT_EQ(page->Evaluate("document.title"), "csp");
  const std::string report = site_.WaitForReport(std::chrono::seconds(10));
  ASSERT_FALSE(report.empty());
  EXPECT_EQ(json::parse(report)["csp-report"]["violated-directive"], "script-src-elem");
}

TEST_F(BrowserClientTest, ReadsHttpOnlyAndSameSiteOfCookies) {
  auto page = chromium_->NewPage();
  ASSERT_EQ(page->Navigate(site_.Url("/cookie")), 200);
  std::map<std::string, BrowserCookie> cookies;
  for (auto& c : page->Cookies()) cookies[c.name] = c;
  ASSERT_EQ(cookies.size(), 2u);
  const BrowserCookie& session = cookies.at("session");
  EXPECT_EQ(session.value, "s3cret");
  EXPECT_TRUE(session.http_only);
  EXPECT_EQ(session.same_site, "Strict");
  EXPECT_FALSE(session.session);  // Max-Age
  EXPECT_GT(session.expires, 0);
  EXPECT_FALSE(cookies.at("theme").http_only);
  EXPECT_EQ(cookies.at("theme").same_site, "");
  // Scripts see only the other one.
  EXPECT_EQ(page->Evaluate("document.cookie"), "theme=dark");

  // Another page has a browser context of its own: no cookies.
  auto other = chromium_->NewPage();
  ASSERT_EQ(other->Navigate(site_.Url("/")), 200);
  EXPECT_TRUE(other->Cookies().empty());
}

TEST_F(BrowserClientTest, TakesAPngScreenshotOfTheViewport) {
  auto page = chromium_->NewPage({.width = 900, .height = 600});
  ASSERT_EQ(page->Navigate(site_.Url("/")), 200);
  page->WaitFor("document.querySelectorAll('li').length === 5");
  TestDir dir;
  page->Screenshot(dir.path() / "grow.png");
  const std::optional<PngSize> size = ReadPngSize(dir.path() / "grow.png");
  ASSERT_TRUE(size) << "not a PNG";
  EXPECT_EQ(size->width, 900u);
  EXPECT_EQ(size->height, 600u);
  EXPECT_EQ(page->Evaluate("[innerWidth, innerHeight]"), json({900, 600}));
}

TEST_F(BrowserClientTest, ErrorsNameWhatFailed) {
  auto page = chromium_->NewPage({.timeout = std::chrono::seconds(5)});
  const std::string closed = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/";
  std::string error = Message([&] { page->Navigate(closed); });
  EXPECT_NE(error.find("navigating to " + closed + ": net::ERR_CONNECTION_REFUSED"),
            std::string::npos)
      << error;
  error = Message([&] { page->Evaluate("noSuchFunction()"); });
  EXPECT_NE(error.find("evaluating `noSuchFunction()`: ReferenceError: noSuchFunction is not "
                       "defined"),
            std::string::npos)
      << error;
  error = Message([&] { page->WaitFor("this is not javascript"); });
  EXPECT_NE(error.find("SyntaxError"), std::string::npos) << error;
  error = Message([&] { page->Click("#absent"); });
  EXPECT_EQ(error, "click: no element matches `#absent`");
  error = Message([&] { page->WaitForConsole("never", std::chrono::milliseconds(100)); });
  EXPECT_EQ(error.find("timed out after 0.1 s waiting for a console message containing \"never\""),
            0u)
      << error;
  error = Message([&] {
    DevToolsConnection(chromium_->port(), "/devtools/page/NO-SUCH-TARGET",
                       DevToolsConnection::Clock::now() + std::chrono::seconds(5));
  });
  EXPECT_NE(error.find("target ws://127.0.0.1:" + std::to_string(chromium_->port()) +
                       "/devtools/page/NO-SUCH-TARGET not found"),
            std::string::npos)
      << error;
  error = Message([] { HeadlessChromium({.program = "/nonexistent/chromium"}); });
  EXPECT_EQ(error,
            "headless chromium: /nonexistent/chromium not found: install Debian's chromium "
            "package (scripts/install-deps does)");
}

// Starts a Chromium of its own: its renderers and helpers end with it.
TEST(HeadlessChromiumTest, KillsItsWholeProcessGroup) {
  pid_t group;
  {
    HeadlessChromium chromium;
    std::cout << "chromium answered DevTools after " << chromium.start_time().count() << " ms\n";
    auto page = chromium.NewPage();
    EXPECT_EQ(page->Navigate("about:blank"), 0);
    group = chromium.pid();
    EXPECT_EQ(getpgid(group), group);
    // The browser, zygotes, a renderer, the network service...
    EXPECT_GT(ProcessesInGroup(group), 3);
  }
  EXPECT_EQ(ProcessesInGroup(group), 0);
}

// hephyd's HTTP listener as a browser sees it.
TEST_F(BrowserClientTest, LoadsHephydsHttpEndpoints) {
  TestDaemon daemon;
  daemon.AddUser("alice");
  ASSERT_EQ(daemon.Cli({"apps", "create", "web", "--owner", "alice"}).exit_code, 0);
  const RunResult created = daemon.Cli({"tokens", "create", "alice", "--name", "browser"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string token = created.out.substr(0, created.out.find('\n'));
  daemon.Start();
  const std::string base = "http://127.0.0.1:" + std::to_string(daemon.http_port());

  auto page = chromium_->NewPage();
  EXPECT_EQ(page->Navigate(base + "/metrics"), 200);
  EXPECT_NE(page->Evaluate("document.body.innerText").get<std::string>().find("# TYPE "),
            std::string::npos);
  EXPECT_EQ(page->Navigate(base + "/healthz"), 200);

  // Without a token the API refuses; with one, sent on every request, it answers.
  EXPECT_EQ(page->Navigate(base + "/api/v1/apps"), 401);
  const json refused = json::parse(page->Evaluate("document.body.innerText").get<std::string>());
  EXPECT_TRUE(refused["error"].get<std::string>().starts_with("this endpoint needs an API token"))
      << refused.dump();
  page->SetExtraHeaders({{"Authorization", "Bearer " + token}});
  EXPECT_EQ(page->Navigate(base + "/api/v1/apps"), 200);
  json apps = json::parse(page->Evaluate("document.body.innerText").get<std::string>());
  ASSERT_EQ(apps.size(), 1u) << apps.dump();
  EXPECT_EQ(apps[0]["name"], "web");

  // A script of the page asks the API as the web pages will, with fetch().
  page->SetExtraHeaders({});
  apps = page->Evaluate("fetch('/api/v1/apps', {headers: {Authorization: 'Bearer " + token +
                        "'}}).then(r => r.json())");
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0]["owner"], "alice");
  EXPECT_EQ(page->Evaluate("fetch('/api/v1/apps').then(r => r.status)"), 401);
}

}  // namespace
}  // namespace hephy
