#include "net/http_connection.h"

#include <gtest/gtest.h>

#include "hephy/error.h"

namespace hephy {
namespace {

TEST(HostPort, ParsesHostAndOptionalPort) {
  const HostPort a = ParseHostPort("127.0.0.1:5000", 80);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 5000);
  const HostPort b = ParseHostPort("registry.example", 80);
  EXPECT_EQ(b.host, "registry.example");
  EXPECT_EQ(b.port, 80);
  const HostPort c = ParseHostPort("[::1]:5000", 80);
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.Authority(), "[::1]:5000");
}

TEST(HostPort, RejectsSchemesPathsAndBadPortsNamingTheText) {
  for (const std::string text :
       {"http://x:5000", "x:5000/v2", "x:0", "x:65536", "x:", ":5000", "", "::1", "[::1", "x:5o"}) {
    try {
      ParseHostPort(text, 80);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'" + text + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(ResolveLocation, AbsoluteOnTheSameHostIsAPath) {
  const HttpLocation l = ResolveLocation({"127.0.0.1", 5000}, false, "/v2/web/blobs/uploads/",
                                         "http://127.0.0.1:5000/v2/web/blobs/uploads/u?_state=s");
  EXPECT_EQ(l.authority, "");
  EXPECT_EQ(l.target, "/v2/web/blobs/uploads/u?_state=s");
}

TEST(ResolveLocation, AbsoluteOnAnotherHostNamesIt) {
  const HttpLocation l = ResolveLocation({"127.0.0.1", 5000}, false, "/v2/x",
                                         "http://storage.example/bucket/blob?sig=1");
  EXPECT_EQ(l.authority, "storage.example:80");
  EXPECT_EQ(l.target, "/bucket/blob?sig=1");
}

TEST(ResolveLocation, RelativeReferencesResolveAgainstTheRequest) {
  const HostPort self{"127.0.0.1", 5000};
  EXPECT_EQ(
      ResolveLocation(self, false, "/v2/web/blobs/uploads/", "/v2/web/blobs/uploads/u").target,
      "/v2/web/blobs/uploads/u");
  EXPECT_EQ(ResolveLocation(self, false, "/v2/web/blobs/uploads/?x=1", "u?_state=s").target,
            "/v2/web/blobs/uploads/u?_state=s");
  EXPECT_EQ(ResolveLocation(self, false, "/v2/web/blobs/sha256:ab", "other").target,
            "/v2/web/blobs/other");
}

TEST(ResolveLocation, HttpsLocationsAreTlsWithTheirOwnDefaultPort) {
  const HttpLocation l =
      ResolveLocation({"127.0.0.1", 5000}, false, "/", "https://s3.example/blob?sig=1");
  EXPECT_EQ(l.authority, "s3.example:443");
  EXPECT_EQ(l.target, "/blob?sig=1");
  EXPECT_TRUE(l.tls);
  // The same host and port under another scheme is another server.
  EXPECT_EQ(ResolveLocation({"127.0.0.1", 5000}, false, "/", "https://127.0.0.1:5000/x").authority,
            "127.0.0.1:5000");
  EXPECT_EQ(ResolveLocation({"127.0.0.1", 5000}, true, "/", "https://127.0.0.1:5000/x").authority,
            "");
  EXPECT_TRUE(ResolveLocation({"127.0.0.1", 5000}, true, "/", "/x").tls);
}

TEST(ResolveLocation, HttpsIsNotLeftForPlainHttp) {
  EXPECT_THROW(ResolveLocation({"registry.example", 443}, true, "/", "http://s3.example/blob"),
               Error);
  EXPECT_THROW(ResolveLocation({"127.0.0.1", 5000}, false, "/", "ftp://s3.example/blob"), Error);
}

TEST(LoopbackHost, IsLocalhostOrALoopbackAddress) {
  for (const char* host : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"registry.example", "10.0.0.1", "0.0.0.0", "::", "localhost.example"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace hephy
