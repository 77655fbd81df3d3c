// hephyd's web page in a real browser: headless Chromium (headless_chromium.h)
// against a real `hephyd serve` whose builds come from real git pushes built
// by buildah, for linux/amd64 and linux/arm64 (when arm64 programs run here;
// else amd64 alone). A user signs in through the form, watches a running
// build's logs of every platform grow live and the build turn green; a
// failed build marks its platform and step; a user without read access sees
// nothing of the app; `<script>` in a log line or a commit message stays
// text; forms and fetch() POSTs without the CSRF token are refused.
//
// Screenshots (apps, a running build, a failed build) go to
// $HEPHY_SCREENSHOTS_DIR when set (docs/screenshots/ for the README), else to
// the test's temporary directory. The time from the build's RUN step passing
// the gate to its next line appearing in the page is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app_commits.h"
#include "build_gate.h"
#include "foreign_busybox.h"
#include "headless_chromium.h"
#include "output_watcher.h"
#include "test_daemon.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Would run in the page if a log line or a commit message were taken as HTML.
const char* kPayload = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>";

// The platforms a build runs for here.
std::vector<std::string> Platforms() {
  if (WhyArm64CannotRun().empty()) return {"linux/amd64", "linux/arm64"};
  return {"linux/amd64"};
}

std::string PlatformList() {
  std::string list;
  for (const auto& p : Platforms()) list += (list.empty() ? "" : ", ") + p;
  return list;
}

// A JavaScript string literal of `text` (JSON's is one).
std::string Js(const std::string& text) { return json(text).dump(); }

class WebBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { chromium_ = new HeadlessChromium(); }
  static void TearDownTestSuite() {
    delete chromium_;
    chromium_ = nullptr;
  }

  void SetUp() override {
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  platforms: [" + PlatformList() + "]\n  network: host\n", registry_.url());
    alice_ = daemon_->AddUser("alice");
    bob_ = daemon_->AddUser("bob");
    alice_token_ = Token("alice");
    bob_token_ = Token("bob");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    const char* dir = std::getenv("HEPHY_SCREENSHOTS_DIR");
    screenshots_ = dir != nullptr && *dir != '\0' ? std::filesystem::path(dir) : temp_.path();
    std::filesystem::create_directories(screenshots_);
  }

  std::string Token(const std::string& user) {
    const RunResult r = daemon_->Cli({"tokens", "create", user, "--name", "web"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(daemon_->http_port()) + path;
  }

  // A page about 1000x700, the size of the README's screenshots.
  std::unique_ptr<BrowserPage> NewPage() {
    return chromium_->NewPage({.width = 1000, .height = 700, .timeout = std::chrono::seconds(30)});
  }

  // Signs `user` in through the form, as a person would, and waits for the
  // apps page.
  void SignIn(BrowserPage& page, const std::string& user, const std::string& token) {
    ASSERT_EQ(page.Navigate(Url("/")), 200);
    ASSERT_EQ(page.Evaluate("document.body.dataset.page"), "sign-in");
    page.Type("#sign-in-user", user);
    page.Type("#sign-in-token", token);
    page.Click("#sign-in button");
    try {
      EXPECT_EQ(page.WaitFor("document.body.dataset.page === 'apps' && "
                             "document.getElementById('user').textContent"),
                user);
    } catch (const DevToolsError& e) {
      FAIL() << e.what() << "; the page: "
             << page.Evaluate(
                        "location.href + ' ' + document.body.dataset.page + ' ' + "
                        "document.body.innerText")
                    .dump();
    }
  }

  // Nothing ran that should not have: no exception, no console error, no
  // Content-Security-Policy violation, no payload.
  static void ExpectCleanPage(BrowserPage& page) {
    page.Sync();
    EXPECT_EQ(page.Evaluate("typeof window.pwned"), "undefined");
    for (const auto& e : page.exceptions()) ADD_FAILURE() << "exception: " << e;
    for (const auto& m : page.console()) {
      if (m.type == "error") ADD_FAILURE() << "console error: " << m.text;
    }
    for (const auto& entry : page.log_entries()) {
      if (entry.source == "security" || entry.source == "violation") {
        ADD_FAILURE() << entry.source << ": " << entry.text;
      }
    }
  }

  // A Dockerfile whose RUN step (on every platform) runs `script` with
  // busybox sh; the arm64 one through qemu.
  void CommitRun(const std::string& script, const std::string& message) {
    CommitRunApp(src_, script);
    GitOk(src_, {"commit", "--amend", "-q", "-m", message});
  }

  static HeadlessChromium* chromium_;
  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_, bob_;
  std::string alice_token_, bob_token_;
  std::filesystem::path src_;
  TestDir temp_;
  std::filesystem::path screenshots_;
};
HeadlessChromium* WebBrowserTest::chromium_ = nullptr;

TEST_F(WebBrowserTest, SignInAndWatchABuildOfEveryPlatformLiveUntilItSucceeds) {
  BuildGate gate;
  CommitRun("echo building on $(uname -m); echo '" + std::string(kPayload) +
                "'; echo waiting at the gate; /bin/busybox wget -q -O - " + gate.Url() +
                "; echo through the gate; for i in 1 2 3 4 5 6; do echo step $i of six; done",
            std::string("Say hello ") + kPayload);
  Child git = daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher pushed(git.stderr_fd().get());
  // Whatever fails below, the build goes on, so that the push ends.
  struct OpenAtExit {
    BuildGate& gate;
    ~OpenAtExit() { gate.Open(); }
  } open_at_exit{gate};
  ASSERT_TRUE(gate.WaitUntilReached()) << pushed.Text();

  auto page = NewPage();
  SignIn(*page, "alice", alice_token_);
  EXPECT_EQ(page->WaitFor("document.querySelector('#apps tr[data-app=\"web\"] .status')"
                          ".dataset.status"),
            "running");

  // The build's page while the RUN step waits at the gate: every platform's
  // log reaches it (arm64 through qemu may come later than amd64).
  page->Click("#apps tr[data-app=\"web\"] a");
  EXPECT_EQ(page->WaitFor("document.body.dataset.page === 'builds' && "
                          "document.querySelector('#builds tr[data-build=\"1\"]').dataset.status"),
            "running");
  page->Click("#builds tr[data-build=\"1\"] a");
  EXPECT_EQ(page->WaitFor("document.body.dataset.page === 'build' && "
                          "document.getElementById('build').dataset.status"),
            "running");
  EXPECT_EQ(page->Evaluate("document.getElementById('build').dataset.events"),
            "/apps/web/builds/1/events");
  // Each time a line saying it passed the gate is added, note when.
  page->Evaluate(R"(window.arrived = {};
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    const platform = n.parentElement && n.parentElement.dataset.log;
    if (platform && n.textContent === 'through the gate\n' && !arrived[platform]) {
      arrived[platform] = Date.now();
    }
  }
}).observe(document.getElementById('logs'), {subtree: true, childList: true}); 0)");
  for (const auto& platform : Platforms()) {
    const std::string log = "document.querySelector('code[data-log=\"" + platform + "\"]')";
    EXPECT_EQ(page->WaitFor(
                  "[..." + log + ".children].some(s => s.textContent === 'waiting at the gate\\n')",
                  std::chrono::seconds(120)),
              true)
        << platform;
    EXPECT_EQ(page->Evaluate("[..." + log +
                             ".children].some(s => s.textContent === 'through the gate\\n')"),
              false);
    // The payload is a line of text, not an element.
    EXPECT_EQ(page->Evaluate("[..." + log +
                             ".querySelectorAll('span.line')].some(s => "
                             "s.textContent === " +
                             Js(std::string(kPayload) + "\n") + ")"),
              true);
    EXPECT_TRUE(page->Evaluate(log + ".querySelector('script, img')").is_null());
  }
  page->Screenshot(screenshots_ / "build-running.png");

  // Open the gate: the next lines come over the event stream, and the build
  // turns green in the same page (app.js reloads it once the stream ends).
  const auto opened =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  gate.Open();
  for (const auto& platform : Platforms()) {
    const json at = page->WaitFor("window.arrived && window.arrived[" + Js(platform) + "]",
                                  std::chrono::seconds(120));
    const long long latency = at.get<long long>() - opened;
    std::cout << "gate opened -> line in the page's DOM (" << platform << "): " << latency
              << " ms\n";
    ::testing::Test::RecordProperty("latency_ms_" + platform.substr(platform.find('/') + 1),
                                    static_cast<int>(latency));
    EXPECT_LT(latency, 5000) << platform;
  }
  EXPECT_EQ(page->WaitFor("document.getElementById('build').dataset.status === 'succeeded' && "
                          "document.getElementById('build').dataset.status",
                          std::chrono::seconds(120)),
            "succeeded");
  pushed.Join();
  EXPECT_EQ(git.Wait(), 0) << pushed.Text();
  // Once reloaded: every job green, no stream any more, the payload still text.
  EXPECT_EQ(page->WaitFor("document.getElementById('build').dataset.events === undefined && "
                          "document.querySelectorAll('#jobs tr[data-status=\"succeeded\"]')"
                          ".length"),
            static_cast<int>(Platforms().size()));
  for (const auto& platform : Platforms()) {
    EXPECT_EQ(page->Evaluate("document.querySelector('code[data-log=\"" + platform +
                             "\"]').textContent.includes('step 6 of six')"),
              true)
        << platform;
  }
  EXPECT_EQ(page->Evaluate("document.getElementById('commit-message').textContent"),
            std::string("Say hello ") + kPayload);
  ExpectCleanPage(*page);

  ASSERT_EQ(page->Navigate(Url("/")), 200);
  EXPECT_EQ(page->Evaluate("document.querySelector('#apps tr[data-app=\"web\"] .status')"
                           ".dataset.status"),
            "succeeded");
  page->Screenshot(screenshots_ / "apps.png");
  ExpectCleanPage(*page);
}

TEST_F(WebBrowserTest, AFailedBuildMarksItsPlatformAndStep) {
  // The last platform fails; any other succeeds.
  const std::string failing = Platforms().back();
  const std::string machine = failing == "linux/arm64" ? "aarch64" : "x86_64";
  CommitRun(
      "echo building on $(uname -m); for i in 1 2 3; do echo compiling part $i; done; "
      "if [ $(uname -m) = " +
          machine + " ]; then echo 'error: part 3 does not link' >&2; exit 3; fi; echo fine",
      "Link part 3");
  const RunResult pushed = daemon_->Git(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  ASSERT_NE(pushed.exit_code, 0) << pushed.err;

  auto page = NewPage();
  SignIn(*page, "alice", alice_token_);
  EXPECT_EQ(page->Evaluate("document.querySelector('#apps tr[data-app=\"web\"] .status')"
                           ".dataset.status"),
            "failed");
  ASSERT_EQ(page->Navigate(Url("/apps/web/builds/1")), 200);
  EXPECT_EQ(page->Evaluate("document.getElementById('build').dataset.status"), "failed");
  EXPECT_EQ(page->Evaluate("document.querySelector('#jobs tr[data-platform=\"" + failing +
                           "\"]').dataset.status"),
            "failed");
  // The failed step's line is marked, in the failed platform's log only.
  std::string id = "failed-step-" + failing;
  std::replace(id.begin(), id.end(), '/', '-');
  const json step =
      page->Evaluate("(() => { const s = document.getElementById(" + Js(id) +
                     "); return s && {text: s.textContent, log: s.closest('code').dataset.log, "
                     "shown: s.getBoundingClientRect().height > 0}; })()");
  ASSERT_TRUE(step.is_object()) << "no #" << id;
  EXPECT_TRUE(step["text"].get<std::string>().starts_with("STEP 4/4: RUN")) << step.dump();
  EXPECT_EQ(step["log"], failing);
  EXPECT_EQ(step["shown"], true);
  EXPECT_EQ(page->Evaluate("document.querySelectorAll('.failed-step').length"), 1);
  EXPECT_EQ(page->Evaluate("document.getElementById('build-error') !== null"), true);
  page->Evaluate("document.getElementById(" + Js(id) + ").scrollIntoView({block: 'center'}); 0");
  page->Screenshot(screenshots_ / "build-failed.png");
  ExpectCleanPage(*page);
}

TEST_F(WebBrowserTest, AUserWithoutReadAccessSeesNeitherTheAppNorItsBuilds) {
  CommitCopyOnlyApp(src_, "hello");
  const RunResult pushed = daemon_->Git(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  auto page = NewPage();
  SignIn(*page, "bob", bob_token_);
  EXPECT_EQ(page->Evaluate("document.querySelectorAll('#apps tr[data-app]').length"), 0);
  EXPECT_EQ(page->Evaluate("document.querySelector('main').textContent.includes('web')"), false);
  // By URL: the same 404 page as for what does not exist.
  for (const std::string path :
       {"/apps/web/builds", "/apps/web/builds/1", "/apps/web/builds/1/log?platform=linux/amd64"}) {
    EXPECT_EQ(page->Navigate(Url(path)), 404) << path;
    EXPECT_TRUE(page->Evaluate("document.getElementById('commit-message')").is_null()) << path;
    EXPECT_EQ(page->Evaluate("document.body.textContent.includes('hello')"), false) << path;
  }
  ASSERT_EQ(page->Navigate(Url("/apps/web/builds/1")), 404);
  EXPECT_EQ(page->Evaluate("document.body.dataset.page"), "error");
  const auto hidden =
      page->Evaluate("document.querySelector('main').textContent").get<std::string>();
  ASSERT_EQ(page->Navigate(Url("/apps/nothing/builds/1")), 404);
  const auto missing =
      page->Evaluate("document.querySelector('main').textContent").get<std::string>();
  EXPECT_EQ(hidden.find("nothing"), std::string::npos);
  EXPECT_NE(missing.find("nothing"), std::string::npos) << missing;
  // The event stream, from a script of the page, is refused too.
  EXPECT_EQ(page->Evaluate("fetch('/apps/web/builds/1/events').then(r => r.status)"), 404);

  // alice, the owner, sees both.
  auto owner = NewPage();
  SignIn(*owner, "alice", alice_token_);
  EXPECT_EQ(owner->Evaluate("document.querySelectorAll('#apps tr[data-app=\"web\"]').length"), 1);
  EXPECT_EQ(owner->Navigate(Url("/apps/web/builds/1")), 200);
  ExpectCleanPage(*page);
  ExpectCleanPage(*owner);
}

TEST_F(WebBrowserTest, PostsWithoutTheCsrfTokenAreRefused) {
  CommitCopyOnlyApp(src_, "hello");
  const RunResult pushed = daemon_->Git(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  auto page = NewPage();
  SignIn(*page, "alice", alice_token_);
  ASSERT_EQ(page->Navigate(Url("/apps/web/builds/1")), 200);
  // A page that still showed the build running reloads itself once its
  // stream ends: wait for the page that stays.
  ASSERT_EQ(page->WaitFor("document.body.dataset.page === 'build' && "
                          "!document.getElementById('build').dataset.events && "
                          "document.querySelector('#rebuild input[name=csrf]') !== null"),
            true);

  // A script's POST without the token, and with a wrong one.
  EXPECT_EQ(page->Evaluate("fetch('/apps/web/builds/1/rebuild', {method: 'POST', "
                           "redirect: 'manual'}).then(r => r.status)"),
            403);
  EXPECT_EQ(page->Evaluate("fetch('/apps/web/builds/1/rebuild', {method: 'POST', redirect: "
                           "'manual', body: new URLSearchParams({csrf: '0'.repeat(64)})})"
                           ".then(r => r.status)"),
            403);
  // The form, its hidden input taken out, submitted by a click: the 403 page.
  page->Evaluate("document.querySelector('#rebuild input[name=csrf]').remove(); 0");
  page->Click("#rebuild button");
  EXPECT_EQ(page->WaitFor("document.body.dataset.page === 'error' && "
                          "document.querySelector('main').textContent.length > 0"),
            true);
  EXPECT_EQ(page->Evaluate("location.pathname"), "/apps/web/builds/1/rebuild");
  // Nothing was rebuilt.
  EXPECT_NE(daemon_->Cli({"builds", "show", "2"}).exit_code, 0);

  // With the token the same form rebuilds: the refusals above were the token's.
  ASSERT_EQ(page->Navigate(Url("/apps/web/builds/1")), 200);
  ASSERT_EQ(page->WaitFor("document.querySelector('#rebuild input[name=csrf]') !== null"), true);
  page->Click("#rebuild button");
  EXPECT_EQ(page->WaitFor("location.pathname === '/apps/web/builds' && location.pathname"),
            "/apps/web/builds");
}

}  // namespace
}  // namespace hephy
