// The HTTP API's routes, parameters, authentication and answers, through
// HttpApi::Handle with an exchange that records what it is given (no
// sockets; tests/integration/http_api_test.cc runs the real server).
#include "api/http_api.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "api/api_tokens.h"
#include "hephy/store.h"
#include "store/build_logs.h"
#include "test_dir.h"

namespace hephy {
namespace {

using nlohmann::json;
using Kind = ApiRoute::Kind;

TEST(HttpApiRoutes, EveryEndpointAndNothingElse) {
  EXPECT_EQ(ParseRoute("/healthz")->kind, Kind::kHealthz);
  EXPECT_EQ(ParseRoute("/metrics")->kind, Kind::kMetrics);
  EXPECT_EQ(ParseRoute("/api/v1/apps")->kind, Kind::kApps);
  EXPECT_EQ(ParseRoute("/api/v1/builds")->kind, Kind::kBuilds);
  const auto build = ParseRoute("/api/v1/builds/42");
  ASSERT_TRUE(build);
  EXPECT_EQ(build->kind, Kind::kBuild);
  EXPECT_EQ(build->build_id, 42);
  const auto logs = ParseRoute("/api/v1/builds/7/logs");
  ASSERT_TRUE(logs);
  EXPECT_EQ(logs->kind, Kind::kBuildLogs);
  EXPECT_EQ(logs->build_id, 7);
  const auto context = ParseRoute("/api/v1/contexts/12-linux-arm64");
  ASSERT_TRUE(context);
  EXPECT_EQ(context->kind, Kind::kBuildContext);
  EXPECT_EQ(context->job, "12-linux-arm64");
  for (const char* path :
       {"/", "", "/healthz/", "/api/v1/contexts/", "/api/v1/contexts/A", "/api/v1/contexts/a/b",
        "/api/v1/contexts/..", "/api/v1/apps/", "/api/v1/builds/", "/api/v1/builds/7/log",
        "/api/v1/builds/7/logs/", "/api/v2/apps", "/API/v1/apps", "/api/v1/builds/7/logs/x"}) {
    EXPECT_FALSE(ParseRoute(path)) << path;
  }
}

TEST(HttpApiRoutes, BuildIdsArePositiveNumbers) {
  for (const char* path : {"/api/v1/builds/0", "/api/v1/builds/-1", "/api/v1/builds/x",
                           "/api/v1/builds/1e3", "/api/v1/builds/99999999999999999999/logs"}) {
    try {
      ParseRoute(path);
      ADD_FAILURE() << path;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400) << path;
      EXPECT_TRUE(std::string(e.what()).starts_with("build ID must be a positive number"));
    }
  }
}

TEST(HttpApiRoutes, QueryParametersAreDecoded) {
  EXPECT_EQ(ParseQuery(""), (std::map<std::string, std::string>{}));
  EXPECT_EQ(ParseQuery("app=web&limit=5"),
            (std::map<std::string, std::string>{{"app", "web"}, {"limit", "5"}}));
  EXPECT_EQ(ParseQuery("platform=linux%2Farm64&&follow&x=a+b%21"),
            (std::map<std::string, std::string>{
                {"platform", "linux/arm64"}, {"follow", ""}, {"x", "a b!"}}));
  for (const char* bad : {"a=%zz", "a=%2", "a=1&a=2"}) {
    try {
      ParseQuery(bad);
      ADD_FAILURE() << bad;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400) << bad;
    }
  }
}

// What a handler did with the exchange.
class RecordingExchange : public HttpExchange {
 public:
  void Respond(HttpServerResponse response) override { response_ = std::move(response); }
  bool StartStream(const HttpServerResponse& head) override {
    response_ = head;
    streamed_ = true;
    return true;
  }
  bool Write(std::string_view data) override {
    response_.body.append(data);
    ++chunks_;
    return true;
  }
  void Finish() override { finished_ = true; }
  size_t ReadBody(std::span<char>) override { return 0; }  // the API's bodies come whole
  std::stop_token stopping() const override { return stop_.get_token(); }

  int status() const { return response_.status; }
  const std::string& response_content_type() const { return response_.content_type; }
  const std::string& body() const { return response_.body; }
  json Json() const { return json::parse(response_.body); }
  std::string HeaderValue(const std::string& name) const {
    for (const auto& [n, v] : response_.headers) {
      if (n == name) return v;
    }
    return "";
  }
  bool streamed_ = false;
  bool finished_ = false;
  int chunks_ = 0;

 private:
  HttpServerResponse response_{0, "", {}, ""};
  std::stop_source stop_;
};

class HttpApiHandlerTest : public ::testing::Test {
 protected:
  HttpApiHandlerTest() {
    // Port 1 on loopback: nothing listens, so the registry is unreachable.
    Configure("");
    store_ = std::make_unique<Store>(config_.DatabasePath());
    store_->Migrate();
    store_->AddUser("alice", false);
    store_->AddUser("bob", false);
    store_->AddUser("root", true);
    store_->CreateApp("web", "alice");
    store_->CreateApp("api", "bob");
    store_->CreateApp("tools", std::nullopt);
    // bob may read web; nobody but admins may read tools.
    SQLite::Database db(config_.DatabasePath().string(), SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO app_members (app_id, user_id, access) SELECT a.id, u.id, 'read' FROM apps "
        "a, users u WHERE a.name = 'web' AND u.name = 'bob'");
    for (const char* user : {"alice", "bob", "root"}) {
      const std::string token = NewApiToken();
      store_->CreateApiToken(user, "", HashApiToken(token));
      tokens_[user] = token;
    }
  }

  void Configure(const std::string& http) {
    config_ = ParseConfig("data_dir: " + dir_.path().string() +
                              "\nregistry: { url: \"127.0.0.1:1\", embedded: false }\n" + http,
                          "test.yaml", dir_.path());
    std::filesystem::create_directories(config_.data_dir);
    api_ = std::make_unique<HttpApi>(config_, &contexts_);
  }

  Build AddBuild(const std::string& app, std::vector<std::string> platforms = {"linux/amd64"}) {
    return store_->CreateBuild({.app = app,
                                .unit = app,
                                .ref = "refs/heads/main",
                                .old_sha = std::string(40, '0'),
                                .new_sha = std::string(40, 'a'),
                                .pusher = "alice",
                                .platforms = std::move(platforms)},
                               config_.LogsDir());
  }

  RecordingExchange Get(const std::string& target, const std::string& user = "",
                        bool loopback = true, const std::string& method = "GET") {
    HttpServerRequest request;
    request.method = method;
    request.target = target;
    request.remote = loopback ? "127.0.0.1:5000" : "192.0.2.7:5000";
    request.remote_loopback = loopback;
    if (!user.empty()) {
      request.headers["authorization"] =
          "Bearer " + (tokens_.contains(user) ? tokens_[user] : user);
    }
    RecordingExchange exchange;
    api_->Handle(request, exchange);
    return exchange;
  }

  std::vector<std::string> Names(const json& array, const std::string& field) {
    std::vector<std::string> names;
    for (const auto& item : array) names.push_back(item[field].dump());
    return names;
  }

  TestDir dir_;
  BuildContexts contexts_;
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<HttpApi> api_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(HttpApiHandlerTest, ApiWithoutATokenIsUnauthorizedWithABearerChallenge) {
  for (const char* target :
       {"/api/v1/apps", "/api/v1/builds", "/api/v1/builds/1", "/api/v1/builds/1/logs"}) {
    const auto r = Get(target);
    EXPECT_EQ(r.status(), 401) << target;
    EXPECT_EQ(r.HeaderValue("WWW-Authenticate"), "Bearer realm=\"hephyd\"") << target;
    EXPECT_TRUE(r.Json()["error"].get<std::string>().starts_with("this endpoint needs an API"))
        << r.body();
  }
}

TEST_F(HttpApiHandlerTest, WrongMalformedOrRevokedTokensAreUnauthorized) {
  const std::string invalid = "Bearer realm=\"hephyd\", error=\"invalid_token\"";
  auto r = Get("/api/v1/apps", NewApiToken());
  EXPECT_EQ(r.status(), 401);
  EXPECT_EQ(r.HeaderValue("WWW-Authenticate"), invalid);
  EXPECT_EQ(r.Json(), json({{"error", "invalid API token"}}));
  // Not a token at all, and the hash of a real one in its place.
  EXPECT_EQ(Get("/api/v1/apps", "hunter2").status(), 401);
  EXPECT_EQ(Get("/api/v1/apps", HashApiToken(tokens_["alice"])).status(), 401);
  // A bad token is refused even where none is needed.
  EXPECT_EQ(Get("/healthz", NewApiToken()).status(), 401);

  HttpServerRequest basic;
  basic.method = "GET";
  basic.target = "/api/v1/apps";
  basic.headers["authorization"] = "Basic YWxpY2U6c2VjcmV0";
  RecordingExchange exchange;
  api_->Handle(basic, exchange);
  EXPECT_EQ(exchange.status(), 401);
  EXPECT_EQ(exchange.HeaderValue("WWW-Authenticate"), invalid);

  store_->RevokeApiToken(1);
  EXPECT_EQ(Get("/api/v1/apps", "alice").status(), 401);
  EXPECT_EQ(Get("/api/v1/apps", "bob").status(), 200);
}

TEST_F(HttpApiHandlerTest, AppsAreThoseTheUserMayReadWithTheirAccess) {
  auto r = Get("/api/v1/apps", "alice");
  ASSERT_EQ(r.status(), 200) << r.body();
  EXPECT_EQ(r.HeaderValue("Cache-Control"), "no-store");
  const json alice = r.Json();
  ASSERT_EQ(alice.size(), 1u) << alice.dump();
  EXPECT_EQ(alice[0]["name"], "web");
  EXPECT_EQ(alice[0]["owner"], "alice");
  EXPECT_EQ(alice[0]["access"], "owner");
  EXPECT_TRUE(alice[0]["created_at"].is_string());

  const json bob = Get("/api/v1/apps", "bob").Json();
  EXPECT_EQ(Names(bob, "name"), (std::vector<std::string>{"\"api\"", "\"web\""}));
  EXPECT_EQ(bob[1]["access"], "read");

  const json root = Get("/api/v1/apps", "root").Json();
  EXPECT_EQ(Names(root, "name"), (std::vector<std::string>{"\"api\"", "\"tools\"", "\"web\""}));
  EXPECT_TRUE(root[1]["owner"].is_null());
  EXPECT_EQ(root[1]["access"], "owner");
}

TEST_F(HttpApiHandlerTest, BuildsAreOnlyThoseOfReadableAppsNewestFirst) {
  AddBuild("web");
  AddBuild("tools");
  AddBuild("api");
  AddBuild("web");
  const json alice = Get("/api/v1/builds", "alice").Json();
  EXPECT_EQ(Names(alice, "id"), (std::vector<std::string>{"4", "1"}));
  const json bob = Get("/api/v1/builds", "bob").Json();
  EXPECT_EQ(Names(bob, "id"), (std::vector<std::string>{"4", "3", "1"}));
  const json root = Get("/api/v1/builds?limit=3", "root").Json();
  EXPECT_EQ(Names(root, "id"), (std::vector<std::string>{"4", "3", "2"}));
  EXPECT_EQ(Names(Get("/api/v1/builds?app=web&limit=1", "bob").Json(), "id"),
            std::vector<std::string>{"4"});

  // An app the user may not read is as good as absent.
  auto r = Get("/api/v1/builds?app=tools", "alice");
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.Json(), json({{"error", "no app 'tools'"}}));
  EXPECT_EQ(Get("/api/v1/builds?app=ghost", "alice").Json(), json({{"error", "no app 'ghost'"}}));
}

TEST_F(HttpApiHandlerTest, OneBuildWithItsJobsOrTheSame404) {
  const Build web = AddBuild("web", {"linux/amd64", "linux/arm64"});
  const Build tools = AddBuild("tools");
  auto r = Get("/api/v1/builds/" + std::to_string(web.id), "alice");
  ASSERT_EQ(r.status(), 200);
  const json build = r.Json();
  EXPECT_EQ(build["id"], web.id);
  EXPECT_EQ(build["app"], "web");
  EXPECT_EQ(build["status"], "queued");
  EXPECT_TRUE(build["started_at"].is_null());
  ASSERT_EQ(build["jobs"].size(), 2u);
  EXPECT_EQ(build["jobs"][1]["platform"], "linux/arm64");

  const auto hidden = Get("/api/v1/builds/" + std::to_string(tools.id), "alice");
  const auto absent = Get("/api/v1/builds/99", "alice");
  EXPECT_EQ(hidden.status(), 404);
  EXPECT_EQ(absent.status(), 404);
  EXPECT_EQ(hidden.Json()["error"], "build " + std::to_string(tools.id) + ": no such build");
  EXPECT_EQ(absent.Json()["error"], "build 99: no such build");
  EXPECT_EQ(Get("/api/v1/builds/" + std::to_string(tools.id) + "/logs", "alice").status(), 404);
  EXPECT_EQ(Get("/api/v1/builds/" + std::to_string(tools.id), "root").status(), 200);
}

TEST_F(HttpApiHandlerTest, LogsOfAFinishedBuildArePrefixedWhenSeveralJobs) {
  const Build build = AddBuild("web", {"linux/amd64", "linux/arm64"});
  std::filesystem::create_directories(BuildLogDir(config_.LogsDir(), build.id));
  std::ofstream(build.jobs[0].log_path) << "STEP 1/1: FROM scratch\ndone\n";
  std::ofstream(build.jobs[1].log_path) << "STEP 1/1: FROM scratch\nno newline at the end";
  store_->StartBuild(build.id);
  store_->FinishBuild(build.id, "failed", "linux/arm64: broke", "", {});
  const std::string target = "/api/v1/builds/" + std::to_string(build.id) + "/logs";

  auto r = Get(target, "alice");
  EXPECT_EQ(r.status(), 200);
  EXPECT_TRUE(r.streamed_);
  EXPECT_TRUE(r.finished_);
  EXPECT_EQ(r.body(),
            "[linux/amd64] STEP 1/1: FROM scratch\n[linux/amd64] done\n"
            "[linux/arm64] STEP 1/1: FROM scratch\n[linux/arm64] no newline at the end\n");
  EXPECT_EQ(r.HeaderValue("X-Content-Type-Options"), "nosniff");

  r = Get(target + "?platform=linux%2Farm64&follow=1", "bob");
  EXPECT_EQ(r.body(), "STEP 1/1: FROM scratch\nno newline at the end\n");
  EXPECT_TRUE(r.finished_);

  r = Get(target + "?platform=linux/s390x", "alice");
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.Json()["error"], "build " + std::to_string(build.id) +
                                   " has no job for platform 'linux/s390x' (its platforms: "
                                   "linux/amd64, linux/arm64)");
  EXPECT_EQ(Get(target + "?follow=maybe", "alice").status(), 400);
}

TEST_F(HttpApiHandlerTest, BadParametersMethodsAndPaths) {
  auto r = Get("/api/v1/builds?limit=0", "alice");
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.Json()["error"], "limit must be a number from 1 to 1000, got '0'");
  EXPECT_EQ(Get("/api/v1/builds?limit=1001", "alice").status(), 400);
  EXPECT_EQ(Get("/api/v1/builds?limit=ten", "alice").status(), 400);
  r = Get("/api/v1/builds?ap=web", "alice");
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.Json()["error"], "unknown query parameter 'ap' (expected app, limit)");
  EXPECT_EQ(Get("/api/v1/apps?all=1", "alice").status(), 400);
  EXPECT_EQ(Get("/api/v1/builds/x", "alice").status(), 400);

  r = Get("/api/v1/apps", "alice", true, "POST");
  EXPECT_EQ(r.status(), 405);
  EXPECT_EQ(r.HeaderValue("Allow"), "GET");
  EXPECT_EQ(r.Json()["error"], "method POST is not allowed; use GET");

  r = Get("/api/v1/nothing");
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.Json()["error"], "no such endpoint: /api/v1/nothing");
}

TEST_F(HttpApiHandlerTest, MetricsAreOpenToLoopbackByDefaultElseForAdminsTokens) {
  AddBuild("web");
  const Build done = AddBuild("web");
  store_->StartBuild(done.id);
  store_->FinishBuild(done.id, "cancelled", "the pusher disconnected", "", {});

  auto r = Get("/metrics");
  ASSERT_EQ(r.status(), 200) << r.body();
  EXPECT_EQ(r.response_content_type(), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body().find("# TYPE hephy_builds_total counter\n"), std::string::npos);
  EXPECT_NE(r.body().find("hephy_builds_total{status=\"cancelled\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body().find("hephy_builds_total{status=\"succeeded\"} 0\n"), std::string::npos);
  EXPECT_NE(r.body().find("# TYPE hephy_pushes_total counter\n"), std::string::npos);

  EXPECT_EQ(Get("/metrics", "", false).status(), 401);
  r = Get("/metrics", "alice", false);
  EXPECT_EQ(r.status(), 403);
  EXPECT_EQ(r.Json()["error"],
            "alice may not read the metrics: they cover every app, so they are for admins' "
            "tokens");
  EXPECT_EQ(Get("/metrics", "root", false).status(), 200);

  Configure("http: { open_endpoints: none }\n");
  EXPECT_EQ(Get("/metrics").status(), 401);
  EXPECT_EQ(Get("/healthz").status(), 401);
  EXPECT_EQ(Get("/metrics", "root").status(), 200);
  Configure("http: { open_endpoints: any }\n");
  EXPECT_EQ(Get("/metrics", "", false).status(), 200);
}

TEST_F(HttpApiHandlerTest, HealthzNamesWhatFailedAndWhy) {
  // The registry of the config is not there.
  auto r = Get("/healthz");
  ASSERT_EQ(r.status(), 503) << r.body();
  const json health = r.Json();
  EXPECT_EQ(health["status"], "unavailable");
  EXPECT_EQ(health["database"], "ok");
  const std::string registry = health["registry"];
  EXPECT_TRUE(registry.starts_with("registry 127.0.0.1:1: GET /v2/: ")) << registry;
  EXPECT_NE(registry.find("onnection refused"), std::string::npos) << registry;
  EXPECT_EQ(health["error"], "registry: " + registry);

  // Any user's token will do from elsewhere.
  EXPECT_EQ(Get("/healthz", "", false).status(), 401);
  EXPECT_EQ(Get("/healthz", "alice", false).status(), 503);
}

}  // namespace
}  // namespace hephy

namespace hephy {
namespace {

TEST_F(HttpApiHandlerTest, ABuildContextIsSentOnceAsATarToItsJobsToken) {
  const auto context = dir_.path() / "context";
  std::filesystem::create_directories(context);
  std::ofstream(context / "Dockerfile") << "FROM scratch\n";
  const std::string token = contexts_.Issue("5-linux-arm64", context, std::chrono::seconds(60));

  EXPECT_EQ(Get("/api/v1/contexts/5-linux-arm64").status(), 401);
  EXPECT_EQ(Get("/api/v1/contexts/5-linux-amd64", token).status(), 404);
  // A user's API token is no context token.
  EXPECT_EQ(Get("/api/v1/contexts/5-linux-arm64", "root").status(), 404);

  const auto sent = Get("/api/v1/contexts/5-linux-arm64", token);
  EXPECT_EQ(sent.status(), 200);
  EXPECT_EQ(sent.response_content_type(), "application/x-tar");
  EXPECT_TRUE(sent.finished_);
  ASSERT_EQ(sent.body().size(), 512u * 4);  // header, contents, two end blocks
  EXPECT_EQ(sent.body().substr(0, 11), std::string("Dockerfile\0", 11));
  EXPECT_EQ(sent.body().substr(512, 13), "FROM scratch\n");

  const auto again = Get("/api/v1/contexts/5-linux-arm64", token);
  EXPECT_EQ(again.status(), 404);
  EXPECT_NE(again.body().find("a token works once"), std::string::npos) << again.body();
}

}  // namespace
}  // namespace hephy
