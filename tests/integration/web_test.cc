// The web page of a real `hephyd serve`, over HTTP: sign-in and sign-out,
// pages that show only what the user may read, hostile commit messages and
// log lines rendered as text, CSRF-protected forms, and a running build's
// logs followed over server-sent events.
//
// Hooks the pages offer for tests and browser clients (see
// daemon/web/web_pages.h, docs/hephyd.md WEB PAGE):
//   body[data-page]                 sign-in | apps | builds | build | error
//   form#sign-in: input[name=user]#sign-in-user, input[name=token]#sign-in-token,
//                 p#sign-in-error after a refused try
//   #user (signed-in name), form#sign-out (input[name=csrf])
//   #apps tr[data-app=APP] .status[data-status] code.pull
//   nav#filters a[data-filter=STATUS]; #builds tr[data-build=ID][data-status=S]
//   #build[data-build][data-status][data-events=URL, while it runs]
//   #jobs tr[data-unit][data-platform][data-status]; #timeline rect[data-platform]
//   #logs section.log[data-platform=P] code[data-log=P] span.line;
//   span.failed-step#failed-step-PLATFORM (with '/' as '-')
//   #commit-message, #commit-author, #build-error, #index-digest, #tags
//   form#rebuild, form#cancel (write access; input[name=csrf])
//   GET /apps/APP/builds/ID/events: text/event-stream, "event: line" with
//   data {"platform","text"}, then "event: end" with data {"status"}.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "build_gate.h"
#include "net/http_connection.h"
#include "output_watcher.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;

const char* kBusybox = "/bin/busybox";
const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out += (out.empty() ? "" : "&") + name + "=";
    for (const unsigned char c : value) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        out += static_cast<char>(c);
      } else {
        char escaped[4];
        std::snprintf(escaped, sizeof escaped, "%%%02X", c);
        out += escaped;
      }
    }
  }
  return out;
}

// The CSRF token of the first form of a page.
std::string CsrfOf(const std::string& html) {
  std::smatch m;
  if (!std::regex_search(html, m, std::regex("name=\"csrf\" value=\"([0-9a-f]{64})\""))) return "";
  return m[1];
}

class WebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  platforms: [linux/amd64]\n  network: host\n" + extra_config_, registry_.url(),
        "", http_config_);
    alice_ = daemon_->AddUser("alice");
    bob_ = daemon_->AddUser("bob");
    alice_token_ = Token("alice");
    bob_token_ = Token("bob");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  std::string Token(const std::string& user) {
    const RunResult r = daemon_->Cli({"tokens", "create", user, "--name", "web"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& cookie = "", const std::string& body = "") {
    HttpConnection connection({"127.0.0.1", daemon_->http_port()}, std::chrono::seconds(30),
                              16 * 1024 * 1024);
    HttpRequest request{method, target, {}, body};
    if (!cookie.empty()) request.headers.emplace_back("Cookie", "hephy_session=" + cookie);
    if (method == "POST") {
      request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
    return connection.Send(request);
  }
  HttpResponse Get(const std::string& target, const std::string& cookie = "") {
    return Send("GET", target, cookie);
  }

  // Signs in and returns the session cookie's value.
  std::string SignIn(const std::string& user, const std::string& token) {
    const HttpResponse r =
        Send("POST", "/sign-in", "", FormEncode({{"user", user}, {"token", token}}));
    EXPECT_EQ(r.status, 303) << r.body;
    EXPECT_EQ(r.Header("location"), "/");
    std::smatch m;
    const std::string cookie = r.Header("set-cookie");
    EXPECT_TRUE(std::regex_search(cookie, m, std::regex("^hephy_session=([0-9a-f]{64});")))
        << cookie;
    return m.size() > 1 ? m[1].str() : "";
  }

  void CommitAppWaitingAt(const BuildGate& gate, const std::string& before,
                          const std::string& after, const std::string& message) {
    std::filesystem::create_directories(src_ / "amd64/bin");
    std::filesystem::copy_file(kBusybox, src_ / "amd64/bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
    GitOk(src_, {"add", "amd64"});
    CommitFile(src_, "Dockerfile",
               "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n"
               "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"" +
                   before + "/bin/busybox wget -q -O - " + gate.Url() + after + "\"]\n",
               message);
  }

  void CommitCopyOnlyApp(const std::string& message) {
    std::ofstream(src_ / "hello.txt") << message << "\n";
    GitOk(src_, {"add", "hello.txt"});
    CommitFile(src_, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n", message);
  }

  RunResult Push(const TestKey& key, const std::string& app) {
    return daemon_->Git(key, {"push", daemon_->Url(app + ".git"), "main"}, src_);
  }

  std::string http_config_;  // more of the http mapping, set before SetUp
  TestRegistry registry_;
  std::string extra_config_;  // more of hephyd's config, for a derived fixture
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_, bob_;
  std::string alice_token_, bob_token_;
  std::filesystem::path src_;
};

TEST_F(WebTest, SignInShowsTheAppsAndSignOutEndsTheSession) {
  // Signed out: the sign-in form, with the security headers of every page.
  HttpResponse r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("content-security-policy"), kCsp);
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.Header("referrer-policy"), "same-origin");
  EXPECT_NE(r.body.find("<form method=\"post\" action=\"/sign-in\" id=\"sign-in\""),
            std::string::npos)
      << r.body;
  // Pages other than / send the signed-out to it.
  EXPECT_EQ(Get("/apps/web/builds").status, 303);

  // A wrong token, or another user's, signs nobody in.
  for (const auto& [user, token] : std::vector<std::pair<std::string, std::string>>{
           {"alice", bob_token_}, {"alice", "hephy_" + std::string(64, '0')}, {"alice", ""}}) {
    r = Send("POST", "/sign-in", "", FormEncode({{"user", user}, {"token", token}}));
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.Header("set-cookie"), "");
    EXPECT_NE(r.body.find("id=\"sign-in-error\""), std::string::npos);
  }

  r = Send("POST", "/sign-in", "", FormEncode({{"user", "alice"}, {"token", alice_token_}}));
  ASSERT_EQ(r.status, 303) << r.body;
  // Plain HTTP on loopback: no Secure attribute, every other one.
  EXPECT_TRUE(std::regex_match(r.Header("set-cookie"),
                               std::regex("hephy_session=[0-9a-f]{64}; Path=/; Max-Age=43200; "
                                          "HttpOnly; SameSite=Strict")))
      << r.Header("set-cookie");
  const std::string session = SignIn("alice", alice_token_);
  r = Get("/", session);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<b id=\"user\">alice</b>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("No app you may read."), std::string::npos) << r.body;

  // Sign-out wants the session's CSRF token.
  const std::string csrf = CsrfOf(r.body);
  ASSERT_EQ(csrf.size(), 64u) << r.body;
  r = Send("POST", "/sign-out", session, "");
  EXPECT_EQ(r.status, 403) << r.body;
  r = Send("POST", "/sign-out", session, FormEncode({{"csrf", std::string(64, '0')}}));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(Get("/", session).body.find("id=\"user\""), std::string::npos);
  r = Send("POST", "/sign-out", session, FormEncode({{"csrf", csrf}}));
  EXPECT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.Header("set-cookie"), "hephy_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  // Ended on the server: the old cookie signs in no more.
  r = Get("/", session);
  EXPECT_NE(r.body.find("id=\"sign-in\""), std::string::npos) << r.body;
  EXPECT_EQ(Get("/apps", session).status, 303);
}

TEST_F(WebTest, ARevokedTokenEndsItsSessions) {
  const std::string session = SignIn("alice", alice_token_);
  EXPECT_NE(Get("/", session).body.find("id=\"user\""), std::string::npos);
  const RunResult list = daemon_->Cli({"tokens", "list", "alice", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json tokens = json::parse(list.out);
  ASSERT_EQ(tokens.size(), 1u) << list.out;
  const RunResult revoked =
      daemon_->Cli({"tokens", "revoke", std::to_string(tokens[0]["id"].get<int64_t>())});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  const HttpResponse r = Get("/", session);
  EXPECT_NE(r.body.find("id=\"sign-in\""), std::string::npos) << r.body;
}

TEST_F(WebTest, PagesShowOnlyWhatTheUserMayReadAndEscapeTheCommitMessage) {
  CommitCopyOnlyApp("<script>alert('message')</script>");
  RunResult pushed = Push(alice_, "web");
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  const std::string alice = SignIn("alice", alice_token_);
  HttpResponse r = Get("/", alice);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<tr data-app=\"web\">"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("data-status=\"succeeded\""), std::string::npos) << r.body;
  EXPECT_NE(
      r.body.find("<code class=\"pull\" data-pull>podman pull " + registry_.url() + "/web:web-"),
      std::string::npos)
      << r.body;

  r = Get("/apps/web/builds", alice);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<tr data-build=\"1\" data-status=\"succeeded\">"), std::string::npos)
      << r.body;
  // The filter leaves out other statuses.
  r = Get("/apps/web/builds?status=failed", alice);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("data-build=\"1\""), std::string::npos) << r.body;
  EXPECT_EQ(Get("/apps/web/builds?status=nonsense", alice).status, 400);

  r = Get("/apps/web/builds/1", alice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-security-policy"), kCsp);
  EXPECT_NE(r.body.find("<pre id=\"commit-message\">&lt;script&gt;alert(&#39;message&#39;)&lt;/"
                        "script&gt;</pre>"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_NE(r.body.find("id=\"index-digest\""), std::string::npos);
  EXPECT_NE(r.body.find("<section class=\"log\" id=\"log-linux-amd64\""), std::string::npos);
  EXPECT_NE(r.body.find("<rect x=\"0.00%\""), std::string::npos) << r.body;
  // Its whole log, as text.
  r = Get("/apps/web/builds/1/log?platform=linux/amd64", alice);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, daemon_->Cli({"logs", "1"}).out);

  // bob may read nothing of web: not in his list, and by URL the same 404
  // as for an app or build that does not exist.
  const std::string bob = SignIn("bob", bob_token_);
  r = Get("/", bob);
  EXPECT_EQ(r.body.find("data-app=\"web\""), std::string::npos) << r.body;
  const HttpResponse hidden = Get("/apps/web/builds", bob);
  const HttpResponse missing = Get("/apps/nothing/builds", bob);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(hidden.body.find("no app &#39;web&#39;"), std::string::npos) << hidden.body;
  EXPECT_NE(missing.body.find("no app &#39;nothing&#39;"), std::string::npos) << missing.body;
  for (const std::string target : {"/apps/web/builds/1", "/apps/web/builds/1/events",
                                   "/apps/web/builds/1/log", "/apps/web/builds/99"}) {
    r = Get(target, bob);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.body.find("commit-message"), std::string::npos) << target;
  }
  // Nor may he rebuild it, whatever token he sends.
  r = Send("POST", "/apps/web/builds/1/rebuild", bob,
           FormEncode({{"csrf", CsrfOf(Get("/", bob).body)}}));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Get("/apps/web/builds/2", alice).status, 404);
  EXPECT_EQ(Get("/apps/web/builds/x", alice).status, 404);
}

TEST_F(WebTest, TheBuildPageFollowsARunningBuildAndRefusesFormsWithoutTheCsrfToken) {
  BuildGate gate;
  CommitAppWaitingAt(gate, "echo '<script>alert(1)</script>'; echo waiting at the gate; ",
                     "; echo through the gate", "a build that waits");
  Child git = daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher pushed(git.stderr_fd().get());
  ASSERT_TRUE(gate.WaitUntilReached()) << pushed.Text();

  const std::string session = SignIn("alice", alice_token_);
  SpawnOptions curl;
  curl.argv = {
      "curl",
      "-sS",
      "-N",
      "-D",
      "-",
      "-H",
      "Cookie: hephy_session=" + session,
      "http://127.0.0.1:" + std::to_string(daemon_->http_port()) + "/apps/web/builds/1/events"};
  curl.pipe_stdout = true;
  Child follower = Spawn(curl);
  OutputWatcher followed(follower.stdout_fd().get());
  ASSERT_TRUE(followed.WaitFor(
      "event: line\ndata: {\"platform\":\"linux/amd64\",\"text\":\"waiting at the gate\"}\n\n"))
      << followed.Text();
  EXPECT_NE(followed.Text().find("Content-Type: text/event-stream; charset=utf-8\r\n"),
            std::string::npos)
      << followed.Text();
  EXPECT_EQ(follower.TryWait(), std::nullopt);

  // The page of the running build: live, its log line escaped, forms for
  // a writer.
  HttpResponse r = Get("/apps/web/builds/1", session);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("data-status=\"running\" data-events=\"/apps/web/builds/1/events\""),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("<span class=\"line\">&lt;script&gt;alert(1)&lt;/script&gt;\n</span>"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_NE(r.body.find("id=\"rebuild\""), std::string::npos);
  EXPECT_NE(r.body.find("id=\"cancel\""), std::string::npos);
  const std::string csrf = CsrfOf(r.body);
  ASSERT_EQ(csrf.size(), 64u);

  // Without the CSRF token (or with another), neither form does anything.
  r = Send("POST", "/apps/web/builds/1/cancel", session, "");
  EXPECT_EQ(r.status, 403) << r.body;
  r = Send("POST", "/apps/web/builds/1/cancel", session, FormEncode({{"csrf", csrf + "0"}}));
  EXPECT_EQ(r.status, 403) << r.body;
  r = Send("POST", "/apps/web/builds/1/rebuild", session, FormEncode({{"csrf", ""}}));
  EXPECT_EQ(r.status, 403) << r.body;
  // Nor does a form posted from another site.
  HttpConnection connection({"127.0.0.1", daemon_->http_port()}, std::chrono::seconds(30),
                            1024 * 1024);
  r = connection.Send({"POST",
                       "/apps/web/builds/1/cancel",
                       {{"Cookie", "hephy_session=" + session},
                        {"Origin", "https://evil.example"},
                        {"Content-Type", "application/x-www-form-urlencoded"}},
                       FormEncode({{"csrf", csrf}})});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(Get("/apps/web/builds/1", session).body.find("data-status=\"running\""),
            std::string::npos);

  // How long from the gate opening to the next line reaching the stream:
  // busybox's wget returns, sh echoes, buildah and hephyd write the log,
  // the follower wakes (inotify) and sends the event (the goal for
  // a line's way to the browser is 200 ms on loopback).
  const auto opened = std::chrono::steady_clock::now();
  gate.Open();
  ASSERT_TRUE(followed.WaitFor("\"text\":\"through the gate\"}")) << followed.Text();
  const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - opened);
  std::cout << "gate opened -> line in the event stream: " << latency.count() << " ms\n";
  EXPECT_LT(latency, std::chrono::seconds(5));
  followed.Join();
  EXPECT_EQ(follower.Wait(), 0) << followed.Text();
  const std::string events = followed.Text();
  EXPECT_NE(events.find("\"text\":\"through the gate\"}"), std::string::npos) << events;
  EXPECT_NE(events.find("\"text\":\"<script>alert(1)</script>\"}"), std::string::npos) << events;
  EXPECT_TRUE(events.ends_with("event: end\ndata: {\"status\":\"succeeded\"}\n\n")) << events;
  pushed.Join();
  EXPECT_EQ(git.Wait(), 0) << pushed.Text();
  EXPECT_EQ(Get("/apps/web/builds/1", session).body.find("data-events="), std::string::npos);
}

TEST_F(WebTest, CancelWithTheCsrfTokenStopsTheBuild) {
  BuildGate gate;
  CommitAppWaitingAt(gate, "echo waiting at the gate; ", "; echo through the gate",
                     "a build to cancel");
  Child git = daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher pushed(git.stderr_fd().get());
  ASSERT_TRUE(gate.WaitUntilReached()) << pushed.Text();
  const std::string session = SignIn("alice", alice_token_);
  const std::string csrf = CsrfOf(Get("/apps/web/builds/1", session).body);
  const HttpResponse r =
      Send("POST", "/apps/web/builds/1/cancel", session, FormEncode({{"csrf", csrf}}));
  EXPECT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.Header("location"), "/apps/web/builds/1");
  pushed.Join();
  EXPECT_NE(git.Wait(), 0) << pushed.Text();
  EXPECT_NE(pushed.Text().find("cancelled by alice on the web page"), std::string::npos)
      << pushed.Text();
  const std::string page = Get("/apps/web/builds/1", session).body;
  EXPECT_NE(page.find("<div id=\"build\" data-build=\"1\" data-status=\"cancelled\">"),
            std::string::npos)
      << page;
}

TEST_F(WebTest, RebuildWithTheCsrfTokenBuildsTheUnitAgain) {
  CommitCopyOnlyApp("first");
  const RunResult pushed = Push(alice_, "web");
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  const std::string session = SignIn("alice", alice_token_);
  const std::string csrf = CsrfOf(Get("/apps/web/builds/1", session).body);
  const HttpResponse r =
      Send("POST", "/apps/web/builds/1/rebuild", session, FormEncode({{"csrf", csrf}}));
  EXPECT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.Header("location"), "/apps/web/builds");
  ASSERT_TRUE(daemon_->WaitForLog("build 2 app=web unit=web", std::chrono::seconds(120)))
      << daemon_->Log();
  const std::string page = Get("/apps/web/builds", session).body;
  EXPECT_NE(page.find("<tr data-build=\"2\" data-status=\"succeeded\">"), std::string::npos)
      << page;
  EXPECT_NE(page.find("<td>manual</td>"), std::string::npos) << page;
  EXPECT_NE(daemon_->Cli({"audit"}).out.find("web.rebuild"), std::string::npos);
}

TEST_F(WebTest, AFailedBuildShowsItsPlatformAndStep) {
  std::filesystem::create_directories(src_ / "amd64/bin");
  std::filesystem::copy_file(kBusybox, src_ / "amd64/bin/busybox");
  GitOk(src_, {"add", "amd64"});
  CommitFile(src_, "Dockerfile",
             "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n"
             "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo about to fail; exit 3\"]\n",
             "a build that fails");
  const RunResult pushed = Push(alice_, "web");
  ASSERT_NE(pushed.exit_code, 0) << pushed.err;
  const std::string session = SignIn("alice", alice_token_);
  const std::string page = Get("/apps/web/builds/1", session).body;
  EXPECT_NE(page.find("<div id=\"build\" data-build=\"1\" data-status=\"failed\">"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("data-platform=\"linux/amd64\" data-status=\"failed\""), std::string::npos)
      << page;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      page, m,
      std::regex("<span class=\"line failed-step\" id=\"failed-step-linux-amd64\">([^<]*)</span>")))
      << page;
  // ARG is a step of its own: RUN is the fourth of four.
  EXPECT_TRUE(m[1].str().starts_with("STEP 4/4: RUN [&quot;/bin/busybox&quot;")) << m[1];
  EXPECT_NE(page.find("id=\"build-error\""), std::string::npos) << page;
  EXPECT_NE(Get("/apps/web/builds?status=failed", session).body.find("data-build=\"1\""),
            std::string::npos);
}

// Behind a TLS-terminating proxy (http.trust_proxy), the cookie is Secure
// when the proxy says the client spoke HTTPS, and no session is made for a
// request it says came over plain HTTP.
class WebBehindProxyTest : public WebTest {
 protected:
  WebBehindProxyTest() { http_config_ = "  trust_proxy: true\n"; }

  HttpResponse SignInAs(const std::string& proto) {
    HttpConnection connection({"127.0.0.1", daemon_->http_port()}, std::chrono::seconds(30),
                              1024 * 1024);
    return connection.Send(
        {"POST",
         "/sign-in",
         {{"X-Forwarded-Proto", proto}, {"Content-Type", "application/x-www-form-urlencoded"}},
         FormEncode({{"user", "alice"}, {"token", alice_token_}})});
  }
};

TEST_F(WebBehindProxyTest, TheCookieIsSecureOverHttpsAndRefusedOverHttp) {
  HttpResponse r = SignInAs("https");
  EXPECT_EQ(r.status, 303) << r.body;
  EXPECT_TRUE(std::regex_match(r.Header("set-cookie"),
                               std::regex("hephy_session=[0-9a-f]{64}; Path=/; Max-Age=43200; "
                                          "HttpOnly; SameSite=Strict; Secure")))
      << r.Header("set-cookie");
  r = SignInAs("http");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Header("set-cookie"), "");
  EXPECT_NE(r.body.find("credentials are taken over HTTPS only"), std::string::npos) << r.body;
}

// Wrong sign-ins count in the throttle SSH and git over HTTP share.
class WebThrottleTest : public WebTest {
 protected:
  WebThrottleTest() {
    extra_config_ = "ssh:\n  auth_failures:\n    limit: 2\n    window: 1m\n    block: 1m\n";
  }
};

TEST_F(WebThrottleTest, WrongSignInsBlockTheAddress) {
  for (int i = 0; i < 2; ++i) {
    const HttpResponse r =
        Send("POST", "/sign-in", "", FormEncode({{"user", "alice"}, {"token", bob_token_}}));
    EXPECT_EQ(r.status, 403) << r.body;
  }
  // Blocked now, even with the right token.
  const HttpResponse r =
      Send("POST", "/sign-in", "", FormEncode({{"user", "alice"}, {"token", alice_token_}}));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.Header("set-cookie"), "");
  EXPECT_FALSE(r.Header("retry-after").empty());
  EXPECT_NE(r.body.find("Too many failed attempts from 127.0.0.1"), std::string::npos) << r.body;
  EXPECT_TRUE(daemon_->WaitForLog("blocked for 60s: too many failed attempts")) << daemon_->Log();
}

}  // namespace
}  // namespace hephy
