// The tests' fault-injecting proxy in front of a registry, checked against
// real clients: skopeo, and hephyd's RegistryClient and HttpConnection.
// Tests of hephyd's registry retries rely on it failing what it is told to
// and passing everything else on unchanged.
#include "fault_proxy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "hephy/error.h"
#include "hephy/registry_client.h"
#include "net/http_connection.h"
#include "skopeo_copy.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

constexpr auto kTimeout = std::chrono::seconds(30);
constexpr size_t kMaxBody = 1 << 20;

// The requests of `proxy` with `method` whose target starts with `prefix`.
std::vector<FaultProxy::Logged> Requests(const FaultProxy& proxy, const std::string& method,
                                         const std::string& prefix) {
  std::vector<FaultProxy::Logged> out;
  for (const auto& logged : proxy.log()) {
    if (logged.method == method && logged.target.starts_with(prefix)) out.push_back(logged);
  }
  return out;
}

TEST(FaultProxy, ForwardsAPushAndItsUploadsOnTheClientsOneConnection) {
  TestRegistry registry;
  FaultProxy proxy(registry.url());
  RegistryClient client(proxy.url(), true);
  const TestImage image = PushTestImage(client, "web", Platform{"linux", "amd64", ""});
  EXPECT_EQ(client.HeadManifest("web", image.digest), image.digest);
  EXPECT_EQ(client.HeadManifest("web", "missing"), std::nullopt);
  const std::string config = client.GetBlob("web", image.config_digest);
  // HEAD answers (with a Content-Length and no body) kept the client's
  // connection usable: it needed one only.
  EXPECT_EQ(proxy.connections(), 1);

  RegistryClient direct(registry.url(), true);
  EXPECT_EQ(direct.GetManifest("web", image.digest).body, image.body);
  // The registry's Location named the proxy: the uploads' PUTs came through it.
  const auto uploads = Requests(proxy, "PUT", "/v2/web/blobs/uploads/");
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_NE(uploads[0].target.find("digest=sha256%3A"), std::string::npos) << uploads[0].target;
  EXPECT_EQ(uploads[0].status, 201);

  // A HEAD answer keeps the Content-Length of what GET would send.
  HttpConnection raw(ParseHostPort(proxy.url(), 80), kTimeout, kMaxBody);
  const HttpResponse head = raw.Send({"HEAD", "/v2/web/blobs/" + image.config_digest, {}, ""});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(config.size()));
  EXPECT_EQ(head.Header("docker-content-digest"), image.config_digest);
}

TEST(FaultProxy, ServesAClientWhileAnotherKeepsItsConnectionOpen) {
  TestRegistry registry;
  FaultProxy proxy(registry.url());
  RegistryClient first(proxy.url(), true), second(proxy.url(), true);
  first.Ping();
  second.Ping();
  first.Ping();
  EXPECT_EQ(proxy.connections(), 2);
  EXPECT_EQ(proxy.log().size(), 3u);
}

TEST(FaultProxy, FailsTwiceThenLetsTheRequestThrough) {
  TestRegistry registry;
  FaultProxy proxy(registry.url());
  const int rule = proxy.Fail("PUT", "/v2/web/manifests/.*", 500, 2);
  // One try per call: the proxy's failures, not the client's retries, are tested.
  RegistryClient client(
      RegistryClientOptions{.url = proxy.url(), .insecure = true, .retry = {.attempts = 1}});
  const Platform platform{"linux", "amd64", ""};

  for (int attempt = 1; attempt <= 2; ++attempt) {
    try {
      PushTestImage(client, "web", platform);
      ADD_FAILURE() << "attempt " << attempt << " was not failed";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("500 Internal Server Error: UNKNOWN: injected"),
                std::string::npos)
          << e.what();
    }
  }
  const TestImage image = PushTestImage(client, "web", platform);
  EXPECT_EQ(RegistryClient(registry.url(), true).HeadManifest("web", image.digest), image.digest);
  EXPECT_EQ(proxy.matched(rule), 3);
  EXPECT_EQ(proxy.injected(rule), 2);
  std::vector<int> statuses;
  for (const auto& logged : Requests(proxy, "PUT", "/v2/web/manifests/")) {
    statuses.push_back(logged.status);
  }
  EXPECT_EQ(statuses, (std::vector<int>{500, 500, 201}));
}

TEST(FaultProxy, DropsAConnectionWithoutAnAnswer) {
  TestRegistry registry;
  FaultProxy proxy(registry.url());
  const int rule = proxy.Drop("GET", "/v2/", FaultProxy::kAlways);
  RegistryClient client(
      RegistryClientOptions{.url = proxy.url(), .insecure = true, .retry = {.attempts = 1}});
  try {
    client.Ping();
    ADD_FAILURE() << "the proxy answered";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("connection closed without a response"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(proxy.injected(rule), 1);
  // Nothing pushed yet: the registry says 404 (through the proxy), no tags.
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{});
  ASSERT_EQ(proxy.log().size(), 2u);
  EXPECT_EQ(proxy.log()[0].status, 0);
  EXPECT_EQ(proxy.log()[1].target, "/v2/web/tags/list");
  EXPECT_EQ(proxy.log()[1].status, 404);
}

TEST(FaultProxy, CarriesSkopeosStreamedUploads) {
  TestRegistry registry;
  FaultProxy proxy(registry.url());
  TestDir dir;
  const RunResult r = SkopeoCopy(dir.path(), WriteOciLayout(dir.path()),
                                 proxy.url() + "/web:latest", {"--dest-tls-verify=false"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(Requests(proxy, "PATCH", "/v2/web/blobs/uploads/").empty());
  EXPECT_EQ(RegistryClient(registry.url(), true).ListTags("web"),
            std::vector<std::string>{"latest"});
}

}  // namespace
}  // namespace hephy
