#include <gtest/gtest.h>

#include <atomic>

#include "error_of.h"
#include "fake_http_server.h"
#include "hephy/registry_client.h"
#include "hephy/retry_policy.h"
#include "util/metrics.h"

namespace hephy {
namespace {

using std::chrono::milliseconds;

// Fast enough for tests; the shape is the default's.
const RetryPolicy kQuick{.attempts = 3, .first_delay = milliseconds(10)};

RegistryClientOptions Options(const std::string& url, RetryPolicy retry = kQuick) {
  return {.url = url, .insecure = true, .retry = retry};
}

TEST(RetryPolicy, RetryableStatusesAreTheOnesThatMeanNotNow) {
  for (int status : {408, 429, 500, 502, 503, 504, 599}) EXPECT_TRUE(IsRetryableStatus(status));
  for (int status : {200, 201, 400, 401, 403, 404, 501, 505}) {
    EXPECT_FALSE(IsRetryableStatus(status)) << status;
  }
}

TEST(RetryPolicy, DelayDoublesWithinJitterAndStopsAtTheCap) {
  const RetryPolicy policy{.first_delay = milliseconds(100), .max_delay = milliseconds(350)};
  std::mt19937_64 random(42);
  for (int i = 0; i < 50; ++i) {
    const auto first = RetryDelay(policy, 2, std::nullopt, random);
    EXPECT_GE(first, milliseconds(50));
    EXPECT_LE(first, milliseconds(100));
    const auto second = RetryDelay(policy, 3, std::nullopt, random);
    EXPECT_GE(second, milliseconds(100));
    EXPECT_LE(second, milliseconds(200));
    const auto late = RetryDelay(policy, 30, std::nullopt, random);
    EXPECT_GE(late, milliseconds(175));
    EXPECT_LE(late, milliseconds(350));
  }
}

TEST(RetryPolicy, RetryAfterIsHonouredUpToTheCap) {
  const RetryPolicy policy{.max_delay = milliseconds(5000)};
  std::mt19937_64 random(1);
  EXPECT_EQ(RetryDelay(policy, 2, std::chrono::seconds(2), random), milliseconds(2000));
  EXPECT_EQ(RetryDelay(policy, 2, std::chrono::seconds(60), random), milliseconds(5000));
  EXPECT_EQ(ParseRetryAfter("7"), std::chrono::seconds(7));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
}

TEST(RegistryRetry, ServerErrorsTwiceThenSuccessSucceeds) {
  std::atomic<int> puts = 0;
  FakeServer server([&](const std::string& line, const std::string&) {
    if (line.starts_with("PUT ") && ++puts <= 2) {
      return FakeServer::Response("500 Internal Server Error", "",
                                  R"({"errors":[{"code":"UNKNOWN","message":"injected"}]})");
    }
    return FakeServer::Response("201 Created");
  });
  RegistryClient client(Options(server.url()));
  EXPECT_NO_THROW(client.PutManifest("web", "v1", kOciIndex, "{}"));
  EXPECT_EQ(puts, 3);
}

TEST(RegistryRetry, TooManyRequestsWaitsAsToldAndSucceeds) {
  std::atomic<int> calls = 0;
  FakeServer server([&](const std::string&, const std::string&) {
    if (++calls == 1) return FakeServer::Response("429 Too Many Requests", "Retry-After: 0\r\n");
    return FakeServer::Response("200 OK");
  });
  RegistryClient client(Options(server.url()));
  EXPECT_NO_THROW(client.Ping());
  EXPECT_EQ(calls, 2);
}

TEST(RegistryRetry, ARegistryThatKeepsFailingFailsNamingRequestStatusAndTries) {
  FakeServer server([&](const std::string&, const std::string&) {
    return FakeServer::Response("503 Service Unavailable", "", "down for maintenance\n");
  });
  RegistryClient client(Options(server.url()));
  const std::string message = ErrorOf([&] { client.PutManifest("web", "v1", kOciIndex, "{}"); });
  EXPECT_NE(message.find("registry " + server.url() +
                         ": PUT /v2/web/manifests/v1: 503 Service Unavailable: down for "
                         "maintenance (gave up after 3 tries in "),
            std::string::npos)
      << message;
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(RegistryRetry, TotalTimeBoundsTheTries) {
  FakeServer server([&](const std::string&, const std::string&) {
    return FakeServer::Response("502 Bad Gateway");
  });
  RegistryClient client(Options(server.url(), {.attempts = 100,
                                               .first_delay = milliseconds(40),
                                               .max_delay = milliseconds(40),
                                               .max_time = milliseconds(150)}));
  const auto start = std::chrono::steady_clock::now();
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_NE(message.find("502 Bad Gateway (gave up after "), std::string::npos) << message;
  EXPECT_LT(server.requests().size(), 10u);
}

TEST(RegistryRetry, ClientErrorsAreNotTriedAgain) {
  FakeServer server([&](const std::string&, const std::string&) {
    return FakeServer::Response("400 Bad Request", "",
                                R"({"errors":[{"code":"MANIFEST_INVALID","message":"bad"}]})");
  });
  RegistryClient client(Options(server.url()));
  const std::string message = ErrorOf([&] { client.PutManifest("web", "v1", kOciIndex, "{}"); });
  EXPECT_NE(message.find("400 Bad Request: MANIFEST_INVALID: bad"), std::string::npos) << message;
  EXPECT_EQ(message.find("gave up"), std::string::npos) << message;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(RegistryRetry, AFailedUploadStartsAgainFromItsPost) {
  const std::string bytes = "blob";
  std::atomic<int> puts = 0;
  FakeServer server([&](const std::string& line, const std::string&) {
    if (line.starts_with("HEAD ")) return FakeServer::Response("404 Not Found");
    if (line.starts_with("POST ")) {
      return FakeServer::Response("202 Accepted",
                                  "Location: /upload/" + std::to_string(puts.load()) + "\r\n");
    }
    if (++puts == 1) return FakeServer::Response("500 Internal Server Error");
    return FakeServer::Response("201 Created");
  });
  RegistryClient client(Options(server.url()));
  EXPECT_EQ(client.PutBlob("web", bytes), Sha256Digest(bytes));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_TRUE(requests[3].starts_with("HEAD ")) << requests[3];
  EXPECT_TRUE(requests[4].starts_with("POST ")) << requests[4];
  EXPECT_TRUE(requests[5].starts_with("PUT /upload/1?digest=")) << requests[5];
}

uint64_t RegistryErrors() { return Metrics().registry_errors.With({}).value(); }

TEST(RegistryRetry, OperationsThatFailForGoodAreCountedOnceInTheMetrics) {
  std::atomic<int> calls = 0;
  std::atomic<bool> fail_for_good = false;
  FakeServer server([&](const std::string& line, const std::string&) {
    ++calls;
    if (line.starts_with("GET /v2/ ")) return FakeServer::Response("200 OK");
    if (fail_for_good) return FakeServer::Response("400 Bad Request");
    return FakeServer::Response("503 Service Unavailable");
  });
  RegistryClient client(Options(server.url()));
  const uint64_t before = RegistryErrors();
  EXPECT_NO_THROW(client.Ping());
  EXPECT_EQ(RegistryErrors(), before);
  // Three tries, one failure.
  EXPECT_THROW(client.PutManifest("web", "v1", kOciIndex, "{}"), Error);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(RegistryErrors(), before + 1);
  fail_for_good = true;
  EXPECT_THROW(client.PutManifest("web", "v1", kOciIndex, "{}"), Error);
  EXPECT_EQ(RegistryErrors(), before + 2);
}

TEST(RegistryProbe, AnyAnswerOfTheApiIsReachableButNotCounted) {
  std::atomic<int> status = 200;
  FakeServer server([&](const std::string&, const std::string&) {
    if (status == 401) {
      return FakeServer::Response("401 Unauthorized",
                                  "WWW-Authenticate: Basic realm=\"registry\"\r\n");
    }
    return FakeServer::Response(status == 200 ? "200 OK" : "500 Internal Server Error");
  });
  RegistryClient client(Options(server.url()));
  const uint64_t before = RegistryErrors();
  EXPECT_EQ(client.Probe(), 200);
  status = 401;
  EXPECT_EQ(client.Probe(), 401);
  status = 500;
  const std::string error = ErrorOf([&] { client.Probe(); });
  EXPECT_TRUE(error.starts_with("registry " + server.url() + ": GET /v2/: 500 ")) << error;
  // Health checks are not registry operations of builds.
  EXPECT_EQ(RegistryErrors(), before);
}

}  // namespace
}  // namespace hephy
