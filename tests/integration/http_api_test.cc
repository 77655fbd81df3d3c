// The HTTP API of a real `hephyd serve`: health against a real registry,
// Prometheus metrics after real pushes, API tokens, and a build's log
// followed over HTTP while buildah runs it.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "build_gate.h"
#include "executors/host_platforms.h"
#include "executors/job_cgroup.h"
#include "loopback_http_server.h"
#include "net/http_connection.h"
#include "output_watcher.h"
#include "test_daemon.h"
#include "test_registry.h"
#include "util/disk_space.h"

namespace hephy {
namespace {

using nlohmann::json;

// A statically linked busybox from Debian's busybox-static (see build_test.cc).
const char* kBusybox = "/bin/busybox";

// One parsed sample of the text format: its metric name and labels.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Checks a scrape the way Prometheus reads one, and keeps its samples. Every
// sample's metric has a HELP and a TYPE line before it; a histogram's
// buckets are cumulative, end in le="+Inf", and that bucket equals _count.
class Scrape {
 public:
  explicit Scrape(const std::string& text) {
    Parse(text);
    CheckHistograms();
  }

  // The value of the one sample with this name and these labels (and maybe
  // more), or -1 when there is none.
  double Value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& s : samples_) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels)
        match = match && s.labels.contains(k) && s.labels.at(k) == v;
      if (match) return s.value;
    }
    return -1;
  }

  const std::string& Type(const std::string& family) const { return type_.at(family); }

 private:
  void Parse(const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      std::smatch m;
      if (std::regex_match(line, m, std::regex("# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)"))) {
        (m[1] == "HELP" ? help_ : type_)[m[2]] = m[3];
        continue;
      }
      ASSERT_FALSE(line.starts_with("#")) << line;
      ASSERT_TRUE(
          std::regex_match(line, m, std::regex("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)")))
          << "not a sample: " << line;
      Sample sample{m[1], {}, std::stod(m[4])};
      const std::string labels = m[3];
      const std::regex label("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");
      for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label);
           it != std::sregex_iterator(); ++it) {
        sample.labels[(*it)[1]] = (*it)[2];
      }
      const std::string family = Family(sample.name);
      EXPECT_TRUE(help_.contains(family)) << "no HELP before " << line;
      EXPECT_TRUE(type_.contains(family)) << "no TYPE before " << line;
      samples_.push_back(std::move(sample));
    }
  }

  // The family a sample belongs to: histogram series carry a suffix.
  std::string Family(const std::string& name) const {
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.ends_with(suffix)) {
        const std::string base = name.substr(0, name.size() - suffix.size());
        if (type_.contains(base) && type_.at(base) == "histogram") return base;
      }
    }
    return name;
  }

  void CheckHistograms() {
    // Buckets in order of appearance per series (labels without le).
    std::map<std::string, std::vector<std::pair<std::string, double>>> buckets;
    std::map<std::string, double> counts;
    for (const auto& s : samples_) {
      std::map<std::string, std::string> series = s.labels;
      series.erase("le");
      std::string key = Family(s.name);
      for (const auto& [k, v] : series) key += "|" + k + "=" + v;
      if (s.name.ends_with("_bucket")) {
        ASSERT_TRUE(s.labels.contains("le")) << s.name;
        buckets[key].emplace_back(s.labels.at("le"), s.value);
      } else if (s.name.ends_with("_count")) {
        counts[key] = s.value;
      }
    }
    for (const auto& [key, list] : buckets) {
      ASSERT_FALSE(list.empty());
      EXPECT_EQ(list.back().first, "+Inf") << key;
      double bound = -1, count = 0;
      for (const auto& [le, value] : list) {
        if (le != "+Inf") {
          EXPECT_GT(std::stod(le), bound) << key << " le=" << le;
          bound = std::stod(le);
        }
        EXPECT_GE(value, count) << key << " le=" << le << ": buckets must be cumulative";
        count = value;
      }
      ASSERT_TRUE(counts.contains(key)) << key << " has no _count";
      EXPECT_EQ(counts[key], list.back().second) << key;
    }
  }

  std::map<std::string, std::string> help_, type_;
  std::vector<Sample> samples_;
};

class HttpApiTest : public ::testing::Test {
 protected:
  void Start(const std::string& http_config = "") {
    // network host: RUN steps wait at a BuildGate on the host's loopback, which
    // the build sandbox would keep them from.
    daemon_ =
        std::make_unique<TestDaemon>("builder:\n  platforms: [linux/amd64]\n  network: host\n",
                                     registry_.url(), "", http_config);
    alice_ = daemon_->AddUser("alice");
    bob_ = daemon_->AddUser("bob");
    daemon_->AddUser("root", true);
    alice_token_ = Token("alice");
    bob_token_ = Token("bob");
    root_token_ = Token("root");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
  }

  std::string Token(const std::string& user) {
    const RunResult r = daemon_->Cli({"tokens", "create", user, "--name", "test"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  HttpResponse Get(const std::string& target, const std::string& token = "") {
    HttpConnection connection({"127.0.0.1", daemon_->http_port()}, std::chrono::seconds(30),
                              16 * 1024 * 1024);
    HttpRequest request{"GET", target, {}, ""};
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    return connection.Send(request);
  }

  json GetJson(const std::string& target, const std::string& token, int status = 200) {
    const HttpResponse r = Get(target, token);
    EXPECT_EQ(r.status, status) << target << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json");
    return json::parse(r.body);
  }

  // An amd64 app whose RUN step runs `BEFORE wget GATE AFTER` in busybox sh:
  // its build waits until the test opens the gate.
  void CommitAppWaitingAt(const BuildGate& gate, const std::string& before,
                          const std::string& after) {
    std::filesystem::create_directories(src_ / "amd64/bin");
    std::filesystem::copy_file(kBusybox, src_ / "amd64/bin/busybox");
    GitOk(src_, {"add", "amd64"});
    CommitFile(src_, "Dockerfile",
               "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n"
               "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"" +
                   before + "/bin/busybox wget -q -O - " + gate.Url() + after + "\"]\n",
               "a build that waits");
  }

  void CommitCopyOnlyApp(const std::string& greeting) {
    std::ofstream(src_ / "hello.txt") << greeting << "\n";
    GitOk(src_, {"add", "hello.txt"});
    CommitFile(src_, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n", greeting);
  }

  RunResult Push(const TestKey& key, const std::string& app) {
    return daemon_->Git(key, {"push", daemon_->Url(app + ".git"), "main"}, src_);
  }

  TestRegistry registry_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_, bob_;
  std::string alice_token_, bob_token_, root_token_;
  std::filesystem::path src_;
};

TEST_F(HttpApiTest, HealthzIsOkUntilTheRegistryStops) {
  Start();
  json health = GetJson("/healthz", "");
  // How this host runs each platform's RUN steps (emulation_test.cc).
  const HostPlatforms host = HostPlatforms::Detect();
  EXPECT_EQ(health["platforms"],
            json({{"linux/amd64", PlatformRunName(host.RunOf("linux/amd64"))}}));
  health.erase("platforms");
  // The space left where data_dir is, as statvfs says (give or take what
  // others write meanwhile).
  const uint64_t free_bytes = health["data_dir_free_bytes"];
  const DiskSpace disk = DiskSpaceOf(daemon_->data_dir());
  EXPECT_GT(free_bytes, 0u);
  EXPECT_LT(free_bytes, disk.total);
  EXPECT_NEAR(static_cast<double>(free_bytes), static_cast<double>(disk.available), 1e9);
  health.erase("data_dir_free_bytes");
  EXPECT_EQ(health, json({{"status", "ok"},
                          {"database", "ok"},
                          {"registry", "ok"},
                          {"build_limits", CgroupLimits::OfThisHost().Problem().empty()
                                               ? "ok"
                                               : CgroupLimits::OfThisHost().Problem()}}));

  registry_.Stop();
  const HttpResponse r = Get("/healthz");
  EXPECT_EQ(r.status, 503) << r.body;
  health = json::parse(r.body);
  EXPECT_EQ(health["status"], "unavailable");
  EXPECT_EQ(health["database"], "ok");
  const std::string why = health["registry"];
  EXPECT_TRUE(why.starts_with("registry " + registry_.url() + ": GET /v2/: ")) << why;
  EXPECT_TRUE(daemon_->WaitForLog("health check failed: registry: registry " + registry_.url()))
      << daemon_->Log();
}

TEST_F(HttpApiTest, MetricsCountPushesAndObserveJobDurations) {
  Start();
  const Scrape before(Get("/metrics").body);
  EXPECT_EQ(before.Type("hephy_pushes_total"), "counter");
  EXPECT_EQ(before.Type("hephy_build_job_duration_seconds"), "histogram");
  EXPECT_EQ(before.Type("hephy_ssh_sessions_active"), "gauge");
  EXPECT_EQ(before.Type("hephy_platform_run"), "gauge");
  EXPECT_EQ(before.Value("hephy_platform_run", {{"platform", "linux/amd64"}, {"mode", "native"}}),
            1);
  EXPECT_EQ(before.Type("hephy_builds_total"), "counter");
  EXPECT_EQ(before.Type("hephy_registry_request_errors_total"), "counter");
  EXPECT_EQ(before.Value("hephy_pushes_total", {{"result", "accepted"}}), 0);
  EXPECT_EQ(before.Value("hephy_builds_total", {{"status", "succeeded"}}), 0);
  EXPECT_EQ(before.Value("hephy_ssh_sessions_active", {}), 0);
  EXPECT_EQ(before.Type("hephy_layer_cache_steps_total"), "counter");
  EXPECT_EQ(before.Value("hephy_layer_cache_steps_total", {{"result", "miss"}}), 0);
  EXPECT_EQ(before.Value("hephy_layer_cache_bytes", {}), 0);

  CommitCopyOnlyApp("hello");
  const RunResult accepted = Push(alice_, "web");
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  // A commit without anything to build is refused by the hook.
  std::filesystem::remove(src_ / "Dockerfile");
  GitOk(src_, {"add", "-A"});
  GitOk(src_, {"commit", "-q", "-m", "nothing to build"});
  EXPECT_NE(Push(alice_, "web").exit_code, 0);
  // The cache's size is measured once the job has let its entry go.
  ASSERT_TRUE(daemon_->WaitForLog("layer cache of web/web linux/amd64: released"))
      << daemon_->Log();

  const HttpResponse r = Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const Scrape after(r.body);
  EXPECT_EQ(after.Value("hephy_pushes_total", {{"result", "accepted"}}), 1) << r.body;
  EXPECT_EQ(after.Value("hephy_pushes_total", {{"result", "rejected"}}), 1) << r.body;
  EXPECT_EQ(after.Value("hephy_builds_total", {{"status", "succeeded"}}), 1) << r.body;
  EXPECT_EQ(after.Value("hephy_build_job_duration_seconds_count", {{"platform", "linux/amd64"}}), 1)
      << r.body;
  EXPECT_EQ(after.Value("hephy_build_job_duration_seconds_bucket",
                        {{"platform", "linux/amd64"}, {"le", "+Inf"}}),
            1);
  EXPECT_GT(after.Value("hephy_build_job_duration_seconds_sum", {{"platform", "linux/amd64"}}), 0);
  // One COPY step, built: the layer cache had nothing yet, and now holds it.
  EXPECT_EQ(after.Value("hephy_layer_cache_steps_total", {{"result", "miss"}}), 1) << r.body;
  EXPECT_EQ(after.Value("hephy_layer_cache_steps_total", {{"result", "hit"}}), 0) << r.body;
  EXPECT_GT(after.Value("hephy_layer_cache_bytes", {}), 0) << r.body;
  EXPECT_EQ(after.Type("hephy_data_dir_free_bytes"), "gauge");
  EXPECT_GT(after.Value("hephy_data_dir_free_bytes", {}), 0) << r.body;
}

TEST_F(HttpApiTest, TokensDecideWhatAUserSees) {
  Start();
  CommitCopyOnlyApp("alice's");
  ASSERT_EQ(Push(alice_, "web").exit_code, 0);
  CommitCopyOnlyApp("bob's");
  ASSERT_EQ(Push(bob_, "api").exit_code, 0);

  // No token, a wrong one, a revoked one.
  HttpResponse r = Get("/api/v1/builds");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Header("www-authenticate"), "Bearer realm=\"hephyd\"");
  EXPECT_TRUE(json::parse(r.body)["error"].get<std::string>().starts_with("this endpoint needs"));
  r = Get("/api/v1/builds", "hephy_" + std::string(64, '0'));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Header("www-authenticate"), "Bearer realm=\"hephyd\", error=\"invalid_token\"");
  EXPECT_EQ(json::parse(r.body), json({{"error", "invalid API token"}}));

  // alice sees her app and build; bob's build is not there for her.
  json apps = GetJson("/api/v1/apps", alice_token_);
  ASSERT_EQ(apps.size(), 1u) << apps.dump();
  EXPECT_EQ(apps[0]["name"], "web");
  EXPECT_EQ(apps[0]["owner"], "alice");
  EXPECT_EQ(apps[0]["access"], "owner");
  json builds = GetJson("/api/v1/builds", alice_token_);
  ASSERT_EQ(builds.size(), 1u) << builds.dump();
  EXPECT_EQ(builds[0]["app"], "web");
  EXPECT_EQ(builds[0]["status"], "succeeded");
  const int alices = builds[0]["id"];
  const int bobs = alices == 1 ? 2 : 1;
  const json hidden = GetJson("/api/v1/builds/" + std::to_string(bobs), alice_token_, 404);
  const json absent = GetJson("/api/v1/builds/99", alice_token_, 404);
  EXPECT_EQ(hidden["error"], "build " + std::to_string(bobs) + ": no such build");
  EXPECT_EQ(absent["error"], "build 99: no such build");
  EXPECT_EQ(Get("/api/v1/builds/" + std::to_string(bobs) + "/logs", alice_token_).status, 404);
  GetJson("/api/v1/builds?app=api", alice_token_, 404);

  // The build as the API shows it is what `builds show --json` prints.
  const json shown = GetJson("/api/v1/builds/" + std::to_string(alices), alice_token_);
  const RunResult cli = daemon_->Cli({"builds", "show", std::to_string(alices), "--json"});
  EXPECT_EQ(shown, json::parse(cli.out));
  r = Get("/api/v1/builds/" + std::to_string(alices) + "/logs", alice_token_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, daemon_->Cli({"logs", std::to_string(alices)}).out);

  // An admin sees everything.
  builds = GetJson("/api/v1/builds", root_token_);
  EXPECT_EQ(builds.size(), 2u);
  EXPECT_EQ(builds[0]["id"], std::max(alices, bobs));  // newest first
  EXPECT_EQ(GetJson("/api/v1/apps", root_token_).size(), 2u);
  GetJson("/api/v1/builds/" + std::to_string(bobs), root_token_);

  // Revoked: refused at once, and `tokens list` never shows a token.
  const RunResult list = daemon_->Cli({"tokens", "list", "alice", "--json"});
  EXPECT_EQ(list.out.find(alice_token_), std::string::npos);
  const int id = json::parse(list.out)[0]["id"];
  EXPECT_FALSE(json::parse(list.out)[0]["last_used_at"].is_null());
  ASSERT_EQ(daemon_->Cli({"tokens", "revoke", std::to_string(id)}).exit_code, 0);
  EXPECT_EQ(Get("/api/v1/apps", alice_token_).status, 401);
}

TEST_F(HttpApiTest, OpenEndpointsNoneWantsATokenEvenFromLoopback) {
  Start("  open_endpoints: none\n");
  EXPECT_EQ(Get("/healthz").status, 401);
  EXPECT_EQ(Get("/metrics").status, 401);
  EXPECT_EQ(Get("/metrics", bob_token_).status, 403);
  EXPECT_EQ(Get("/metrics", root_token_).status, 200);
  EXPECT_EQ(Get("/healthz", bob_token_).status, 200);
}

TEST_F(HttpApiTest, LogFollowStreamsLinesWhileTheBuildRuns) {
  Start();
  BuildGate gate;
  CommitAppWaitingAt(gate, "echo waiting at the gate; ", "; echo through the gate");
  Child git = daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher pushed(git.stderr_fd().get());
  ASSERT_TRUE(gate.WaitUntilReached()) << pushed.Text();
  // The push's SSH session is open while it builds.
  EXPECT_EQ(Scrape(Get("/metrics").body).Value("hephy_ssh_sessions_active", {}), 1);

  // The build is running, held at the gate: follow its log.
  SpawnOptions curl;
  curl.argv = {"curl",
               "-sS",
               "-N",
               "-D",
               "-",
               "-H",
               "Authorization: Bearer " + alice_token_,
               "http://127.0.0.1:" + std::to_string(daemon_->http_port()) +
                   "/api/v1/builds/1/logs?follow=1"};
  curl.pipe_stdout = true;
  Child follower = Spawn(curl);
  OutputWatcher followed(follower.stdout_fd().get());
  ASSERT_TRUE(followed.WaitFor("waiting at the gate\n")) << followed.Text();
  // The first chunk came while the build still runs: it cannot end before
  // the gate opens.
  EXPECT_EQ(GetJson("/api/v1/builds/1", alice_token_)["status"], "running");
  EXPECT_EQ(follower.TryWait(), std::nullopt);
  const std::string head = followed.Text();
  EXPECT_NE(head.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << head;

  gate.Open();
  // The stream ends when the build does, with every line of it.
  followed.Join();
  EXPECT_EQ(follower.Wait(), 0) << followed.Text();
  const std::string text = followed.Text();
  EXPECT_NE(text.find("through the gate\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hephy: pushed "), std::string::npos) << text;
  EXPECT_GT(text.find("through the gate\n"), text.find("waiting at the gate\n"));
  pushed.Join();
  EXPECT_EQ(git.Wait(), 0) << pushed.Text();
  EXPECT_EQ(GetJson("/api/v1/builds/1", alice_token_)["status"], "succeeded");
  // What was streamed is the whole log.
  const std::string body = text.substr(text.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, daemon_->Cli({"logs", "1"}).out);
}

TEST_F(HttpApiTest, AFollowLastsThroughTheDrainAndIsCutWhenServeStops) {
  Start();
  BuildGate gate;
  CommitAppWaitingAt(gate, "echo waiting; ", "");
  Child git = daemon_->GitInBackground(alice_, {"push", daemon_->Url("web.git"), "main"}, src_);
  OutputWatcher pushed(git.stderr_fd().get());
  ASSERT_TRUE(gate.WaitUntilReached()) << pushed.Text();
  SpawnOptions curl;
  curl.argv = {"curl",
               "-sS",
               "-N",
               "-H",
               "Authorization: Bearer " + alice_token_,
               "http://127.0.0.1:" + std::to_string(daemon_->http_port()) +
                   "/api/v1/builds/1/logs?follow=1"};
  curl.pipe_stdout = true;
  curl.pipe_stderr = true;
  Child follower = Spawn(curl);
  OutputWatcher followed(follower.stdout_fd().get());
  ASSERT_TRUE(followed.WaitFor("waiting\n")) << followed.Text();

  // The build may finish while hephyd drains, and its log is still followed.
  daemon_->Signal(SIGTERM);
  ASSERT_TRUE(daemon_->WaitForLog("draining")) << daemon_->Log();
  const json draining = json::parse(Get("/healthz").body);
  EXPECT_EQ(draining["status"], "draining") << draining.dump();
  EXPECT_EQ(follower.TryWait(), std::nullopt);
  // A second signal stops at once.
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
  followed.Join();
  // Cut off, not ended: the client can tell the build did not finish.
  EXPECT_NE(follower.Wait(), 0);
  gate.Open();
  git.Wait();
}

}  // namespace
}  // namespace hephy
