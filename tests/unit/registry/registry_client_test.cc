#include "hephy/registry_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "error_of.h"
#include "fake_http_server.h"
#include "hephy/error.h"
#include "registry/image_index.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

class RegistryClientTest : public testing::Test {
 protected:
  TestRegistry registry_;
  RegistryClient client_{registry_.url(), true};
};

TEST_F(RegistryClientTest, PingsARealRegistry) { EXPECT_NO_THROW(client_.Ping()); }

TEST_F(RegistryClientTest, BlobRoundTripsUnderItsSha256) {
  const std::string digest = client_.PutBlob("web", "hello");
  EXPECT_EQ(digest, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(client_.GetBlob("web", digest), "hello");
  EXPECT_EQ(client_.PutBlob("web", "hello"), digest);
}

TEST_F(RegistryClientTest, ManifestPutUnderATagReadsBackByTagAndDigest) {
  const TestImage image = PushTestImage(client_, "apps/web", ParsePlatform("linux/amd64"));
  EXPECT_EQ(client_.PutManifest("apps/web", "web-latest", kOciManifest, image.body), image.digest);

  const auto by_tag = client_.GetManifest("apps/web", "web-latest");
  EXPECT_EQ(by_tag.media_type, kOciManifest);
  EXPECT_EQ(by_tag.digest, image.digest);
  EXPECT_EQ(by_tag.body, image.body);
  EXPECT_EQ(client_.GetManifest("apps/web", image.digest).body, image.body);
  EXPECT_EQ(client_.HeadManifest("apps/web", "web-latest"), image.digest);
}

TEST_F(RegistryClientTest, ListsTagsSortedAndNoneOfAnUnknownRepository) {
  EXPECT_TRUE(client_.ListTags("tools").empty());
  const TestImage image = PushTestImage(client_, "tools", ParsePlatform("linux/amd64"));
  for (const std::string tag : {"web-latest", "api-v1", "web-20261125-a1b2c3d"}) {
    client_.PutManifest("tools", tag, kOciManifest, image.body);
  }
  EXPECT_EQ(client_.ListTags("tools"),
            (std::vector<std::string>{"api-v1", "web-20261125-a1b2c3d", "web-latest"}));
}

TEST_F(RegistryClientTest, DockerSchema2ManifestKeepsItsMediaType) {
  const TestImage image = PushTestImage(client_, "web", ParsePlatform("linux/arm64"), true);
  const auto manifest = client_.GetManifest("web", image.digest);
  EXPECT_EQ(manifest.media_type, kDockerManifest);
  EXPECT_EQ(manifest.body, image.body);
}

TEST_F(RegistryClientTest, HeadOfAnUnknownTagIsNullopt) {
  EXPECT_EQ(client_.HeadManifest("web", "no-such-tag"), std::nullopt);
}

TEST_F(RegistryClientTest, UnknownManifestNamesUrlMethodPathAndRegistryError) {
  const std::string message = ErrorOf([&] { client_.GetManifest("web", "nope"); });
  EXPECT_NE(message.find("registry " + registry_.url() +
                         ": GET /v2/web/manifests/nope: 404 Not Found: MANIFEST_UNKNOWN"),
            std::string::npos)
      << message;
}

TEST_F(RegistryClientTest, InvalidManifestGivesTheRegistrysCodeAndMessage) {
  const std::string message =
      ErrorOf([&] { client_.PutManifest("web", "web-latest", kOciManifest, "not json"); });
  EXPECT_NE(message.find("registry " + registry_.url() +
                         ": PUT /v2/web/manifests/web-latest: 400 Bad Request: "
                         "MANIFEST_INVALID: manifest invalid"),
            std::string::npos)
      << message;
}

TEST_F(RegistryClientTest, ManifestOfAMissingBlobNamesTheBlob) {
  const std::string missing = Sha256Digest("never pushed");
  const std::string body =
      nlohmann::json{{"schemaVersion", 2},
                     {"mediaType", kOciManifest},
                     {"config",
                      {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                       {"digest", missing},
                       {"size", 12}}},
                     {"layers", nlohmann::json::array()}}
          .dump();
  const std::string message =
      ErrorOf([&] { client_.PutManifest("web", "web-latest", kOciManifest, body); });
  EXPECT_NE(message.find("MANIFEST_BLOB_UNKNOWN: blob unknown to registry: " + missing),
            std::string::npos)
      << message;
}

TEST_F(RegistryClientTest, UnknownBlobIsAnError) {
  const std::string digest = Sha256Digest("never pushed");
  const std::string message = ErrorOf([&] { client_.GetBlob("web", digest); });
  EXPECT_NE(message.find("GET /v2/web/blobs/" + digest + ": 404 Not Found: BLOB_UNKNOWN"),
            std::string::npos)
      << message;
}

TEST_F(RegistryClientTest, BlobOverTheCapIsRefusedAndTheClientCarriesOn) {
  const std::string big(RegistryClient::kMaxBlobSize + 1, 'x');
  const std::string digest = client_.PutBlob("web", big);
  const std::string message = ErrorOf([&] { client_.GetBlob("web", digest); });
  EXPECT_NE(message.find("registry " + registry_.url() + ": GET /v2/web/blobs/" + digest),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("larger than the limit of 16 MiB"), std::string::npos) << message;
  EXPECT_NO_THROW(client_.Ping());
}

TEST_F(RegistryClientTest, BadNamesAreRefusedBeforeAnythingIsSent) {
  EXPECT_NE(ErrorOf([&] { client_.GetManifest("../etc", "x"); }).find("'../etc'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { client_.GetManifest("Web", "x"); }).find("'Web'"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { client_.GetManifest("web", "a?b"); }).find("'a?b'"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { client_.HeadManifest("web", "-x"); }).find("'-x'"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { client_.GetBlob("web", "sha256:abc"); }).find("'sha256:abc'"),
            std::string::npos);
}

TEST_F(RegistryClientTest, StoppedRegistryIsAnErrorNamingTheUrl) {
  RegistryClient client(RegistryClientOptions{
      .url = registry_.url(),
      .insecure = true,
      .retry = {.attempts = 2, .first_delay = std::chrono::milliseconds(10)}});
  client.Ping();  // leaves a kept-alive connection that the registry's exit closes
  registry_.Stop();
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_NE(message.find("registry " + registry_.url() + ": GET /v2/: cannot connect: "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("refused"), std::string::npos) << message;
  EXPECT_NE(message.find("(gave up after 2 tries in "), std::string::npos) << message;
}

TEST_F(RegistryClientTest, DeletingAManifestByDigestDropsItAndItsTags) {
  const TestImage image = PushTestImage(client_, "web", ParsePlatform("linux/amd64"));
  client_.PutManifest("web", "web-20261125-a1b2c3d", kOciManifest, image.body);
  EXPECT_EQ(client_.DeleteManifest("web", image.digest), std::nullopt);
  EXPECT_EQ(client_.HeadManifest("web", image.digest), std::nullopt);
  EXPECT_EQ(client_.HeadManifest("web", "web-20261125-a1b2c3d"), std::nullopt);
  EXPECT_TRUE(client_.ListTags("web").empty());
  // Gone already is gone.
  EXPECT_EQ(client_.DeleteManifest("web", image.digest), std::nullopt);
  // A tag is no digest: refused before anything is sent.
  EXPECT_THROW(client_.DeleteManifest("web", "web-latest"), Error);
}

TEST(RegistryClient, ARegistryThatRefusesDeletesSaysWhy) {
  FakeServer server([](const std::string&, const std::string&) {
    return FakeServer::Response(
        "405 Method Not Allowed", "Content-Type: application/json\r\n",
        R"({"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]})");
  });
  RegistryClient client(server.url(), true);
  EXPECT_EQ(client.DeleteManifest("web", Sha256Digest("x")),
            "405 Method Not Allowed: UNSUPPORTED: The operation is unsupported.");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].substr(0, 25), "DELETE /v2/web/manifests/");
}

TEST(RegistryClient, UnreadableCaFileIsAnErrorNamingIt) {
  TestDir dir;
  const std::string message =
      ErrorOf([&] { RegistryClient("registry.example", false, dir.path() / "missing.pem"); });
  EXPECT_NE(message.find("registry registry.example: registry.ca_file: CA file " +
                         (dir.path() / "missing.pem").string() + ": no such file"),
            std::string::npos)
      << message;
  std::ofstream(dir.path() / "junk.pem") << "not a certificate\n";
  const std::string junk =
      ErrorOf([&] { RegistryClient("registry.example", false, dir.path() / "junk.pem"); });
  EXPECT_NE(junk.find("junk.pem: not PEM certificates"), std::string::npos) << junk;
}

TEST(RegistryClientTls, PushesAndReadsOverTlsTrustingTheCaFile) {
  TlsTestRegistry registry;
  RegistryClient client(registry.url(), false, registry.ca_file());
  client.Ping();
  const std::string digest = client.PutBlob("web", "over tls");
  EXPECT_EQ(client.GetBlob("web", digest), "over tls");
  const TestImage image = PushTestImage(client, "web", Platform{"linux", "arm64", ""});
  client.PutManifest("web", "web-latest", image.media_type, image.body);
  const RegistryClient::Manifest manifest = client.GetManifest("web", "web-latest");
  EXPECT_EQ(manifest.digest, image.digest);
  EXPECT_EQ(manifest.body, image.body);
  EXPECT_EQ(client.ListTags("web"), std::vector<std::string>{"web-latest"});
}

TEST(RegistryClientTls, CertificateOfAnUnknownCaFailsVerificationNamingTheUrl) {
  TlsTestRegistry registry;
  RegistryClient client(registry.url(), false);
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_NE(message.find("registry " + registry.url() +
                         ": GET /v2/: TLS handshake failed: certificate verify failed ("),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("issuer certificate"), std::string::npos) << message;
}

TEST(RegistryClientTls, CertificateForAnotherNameIsRefused) {
  // Valid for 127.0.0.1 only; the client asks for localhost.
  TlsTestRegistry registry({"IP:127.0.0.1"});
  const std::string url = "localhost:" + std::to_string(registry.port());
  RegistryClient client(url, false, registry.ca_file());
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_NE(message.find("registry " + url +
                         ": GET /v2/: TLS handshake failed: certificate verify failed "
                         "(hostname mismatch)"),
            std::string::npos)
      << message;
}

TEST(RegistryClientTls, PlainHttpToATlsRegistryIsAClearError) {
  TlsTestRegistry registry;
  RegistryClient client(registry.url(), true);
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_NE(message.find("registry " + registry.url() + ": GET /v2/: 400 Bad Request"),
            std::string::npos)
      << message;
}

TEST(RegistryClientTls, BlobRedirectToAnHttpsHostIsVerifiedToo) {
  TlsTestRegistry storage;
  const std::string digest = [&] {
    RegistryClient direct(storage.url(), false, storage.ca_file());
    return direct.PutBlob("web", "stored elsewhere");
  }();
  FakeServer server([&](const std::string&, const std::string&) {
    return FakeServer::Response("307 Temporary Redirect", "Location: https://" + storage.url() +
                                                              "/v2/web/blobs/" + digest + "\r\n");
  });
  RegistryClient trusting(server.url(), true, storage.ca_file());
  EXPECT_EQ(trusting.GetBlob("web", digest), "stored elsewhere");

  RegistryClient untrusting(server.url(), true);
  const std::string message = ErrorOf([&] { untrusting.GetBlob("web", digest); });
  EXPECT_NE(
      message.find("registry " + server.url() + ": GET https://" + storage.url() +
                   "/v2/web/blobs/" + digest + ": TLS handshake failed: certificate verify failed"),
      std::string::npos)
      << message;
}

TEST(RegistryClient, RejectsAUrlThatIsNotHostAndPort) {
  for (const std::string url :
       {"http://127.0.0.1:5000", "127.0.0.1:5000/v2", "127.0.0.1:99999", ":5000", "::1:5000"}) {
    const std::string message = ErrorOf([&] { RegistryClient(url, true); });
    EXPECT_NE(message.find("registry.url '" + url + "'"), std::string::npos) << message;
  }
}

TEST_F(RegistryClientTest, ChunkedUploadReadsBackTheSameBytes) {
  RegistryClient chunked(
      RegistryClientOptions{.url = registry_.url(), .insecure = true, .chunk_size = 1000});
  std::string bytes(4500, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  const std::string digest = chunked.PutBlob("web", bytes);
  EXPECT_EQ(digest, Sha256Digest(bytes));
  EXPECT_EQ(client_.GetBlob("web", digest), bytes);
}

TEST_F(RegistryClientTest, BlobMountedFromAnotherRepositoryIsThere) {
  const std::string digest = client_.PutBlob("one", "shared layer");
  EXPECT_EQ(client_.PutBlob("two", "shared layer", "one"), digest);
  EXPECT_EQ(client_.GetBlob("two", digest), "shared layer");
}

TEST(RegistryClient, MountSendsNoBytesWhenTheRegistryMounts) {
  const std::string digest = Sha256Digest("layer");
  FakeServer server([&](const std::string& line, const std::string&) {
    if (line.starts_with("HEAD ")) return FakeServer::Response("404 Not Found");
    return FakeServer::Response("201 Created", "Location: /v2/two/blobs/" + digest + "\r\n");
  });
  RegistryClient client(server.url(), true);
  EXPECT_EQ(client.PutBlob("two", "layer", "one"), digest);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1], "POST /v2/two/blobs/uploads/?mount=sha256%3A" + digest.substr(7) +
                             "&from=one HTTP/1.1");
}

TEST(RegistryClient, LargeBlobGoesInOrderedChunks) {
  FakeServer server(FakeServer::kHeads, [&](const std::string& head, const std::string&) {
    if (head.starts_with("HEAD ")) return FakeServer::Response("404 Not Found");
    if (head.starts_with("PUT ")) return FakeServer::Response("201 Created");
    return FakeServer::Response("202 Accepted", "Location: /upload/next\r\n");
  });
  RegistryClient client(
      RegistryClientOptions{.url = server.url(), .insecure = true, .chunk_size = 4});
  client.PutBlob("web", "0123456789");
  const auto heads = server.heads();
  ASSERT_EQ(heads.size(), 6u);
  EXPECT_NE(heads[2].find("PATCH /upload/next "), std::string::npos);
  EXPECT_NE(heads[2].find("Content-Range: 0-3\r\n"), std::string::npos) << heads[2];
  EXPECT_NE(heads[3].find("Content-Range: 4-7\r\n"), std::string::npos) << heads[3];
  EXPECT_NE(heads[4].find("Content-Range: 8-9\r\n"), std::string::npos) << heads[4];
  EXPECT_TRUE(heads[5].starts_with("PUT /upload/next?digest=sha256%3A")) << heads[5];
}

TEST(RegistryClient, SilentServerTimesOutNamingTheUrl) {
  SilentServer server;
  RegistryClient client(RegistryClientOptions{.url = server.url(),
                                              .insecure = true,
                                              .timeout = std::chrono::seconds(1),
                                              .retry = {.attempts = 2, .first_delay = {}}});
  const auto start = std::chrono::steady_clock::now();
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_NE(message.find("registry " + server.url() + ": GET /v2/: no response within 1 s"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("gave up after 2 tries"), std::string::npos) << message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(RegistryClient, NonRegistryAnswerNamesStatusAndBody) {
  FakeServer server([](const std::string&, const std::string&) {
    return FakeServer::Response("404 Not Found", "Content-Type: text/plain\r\n", "no such page\n");
  });
  RegistryClient client(server.url(), true);
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_NE(message.find("GET /v2/: 404 Not Found: no such page"), std::string::npos) << message;
}

TEST(RegistryClient, UnauthorizedWithoutCredentialsSaysThereWereNone) {
  FakeServer server([](const std::string&, const std::string&) {
    return FakeServer::Response(
        "401 Unauthorized", "Content-Type: application/json\r\n",
        R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
  });
  RegistryClient client(RegistryClientOptions{
      .url = server.url(), .insecure = true, .credentials_source = "docker config /x.json"});
  const std::string message = ErrorOf([&] { client.Ping(); });
  EXPECT_NE(message.find("401 Unauthorized: UNAUTHORIZED: authentication required"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("no credentials for " + server.url() + " in docker config /x.json"),
            std::string::npos)
      << message;
  EXPECT_EQ(server.requests().size(), 1u);  // a 401 is not tried again without a challenge
}

TEST(RegistryClient, UploadGoesToARelativeLocation) {
  const std::string digest = Sha256Digest("bytes");
  std::string uploaded;
  FakeServer server([&](const std::string& line, const std::string& body) {
    if (line.starts_with("HEAD ")) return FakeServer::Response("404 Not Found");
    if (line.starts_with("POST ")) {
      return FakeServer::Response("202 Accepted", "Location: /uploads/u1?_state=s\r\n");
    }
    uploaded = body;
    return FakeServer::Response("201 Created", "Docker-Content-Digest: " + digest + "\r\n");
  });
  RegistryClient client(server.url(), true);
  EXPECT_EQ(client.PutBlob("web", "bytes"), digest);
  EXPECT_EQ(uploaded, "bytes");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0], "HEAD /v2/web/blobs/" + digest + " HTTP/1.1");
  EXPECT_EQ(requests[1], "POST /v2/web/blobs/uploads/ HTTP/1.1");
  EXPECT_EQ(requests[2],
            "PUT /uploads/u1?_state=s&digest=sha256%3A" + digest.substr(7) + " HTTP/1.1");
}

TEST(RegistryClient, BlobTheRegistryHasIsNotUploadedAgain) {
  FakeServer server([](const std::string& line, const std::string&) {
    if (line.starts_with("HEAD ")) return FakeServer::Response("200 OK");
    return FakeServer::Response("500 Internal Server Error");
  });
  RegistryClient client(server.url(), true);
  EXPECT_EQ(client.PutBlob("web", "bytes"), Sha256Digest("bytes"));
  EXPECT_EQ(server.requests(),
            std::vector<std::string>{"HEAD /v2/web/blobs/" + Sha256Digest("bytes") + " HTTP/1.1"});
}

TEST(RegistryClient, BlobDownloadFollowsARedirect) {
  const std::string digest = Sha256Digest("config");
  FakeServer server([&](const std::string& line, const std::string&) {
    if (line.starts_with("GET /v2/")) {
      return FakeServer::Response("307 Temporary Redirect", "Location: /storage/blob\r\n");
    }
    return FakeServer::Response("200 OK", "", "config");
  });
  RegistryClient client(server.url(), true);
  EXPECT_EQ(client.GetBlob("web", digest), "config");
  EXPECT_EQ(server.requests().back(), "GET /storage/blob HTTP/1.1");
}

TEST(RegistryClient, ManifestWhoseBytesDoNotMatchTheDigestIsRefused) {
  const std::string asked = Sha256Digest("the real manifest");
  FakeServer server([&](const std::string&, const std::string&) {
    return FakeServer::Response("200 OK", std::string("Content-Type: ") + kOciManifest + "\r\n",
                                "{\"schemaVersion\":2}");
  });
  RegistryClient client(server.url(), true);
  const std::string message = ErrorOf([&] { client.GetManifest("web", asked); });
  EXPECT_NE(message.find("GET /v2/web/manifests/" + asked + ": the body's digest is " +
                         Sha256Digest("{\"schemaVersion\":2}")),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace hephy
