#include "api/transport_security.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

Config Listening(const std::string& host) {
  Config config;
  config.http.listen = {host, 8080};
  return config;
}

HttpServerRequest Request(const std::string& forwarded_proto = "") {
  HttpServerRequest request;
  if (!forwarded_proto.empty()) request.headers["x-forwarded-proto"] = forwarded_proto;
  return request;
}

TEST(TransportSecurity, PlainHttpTakesCredentialsOnlyOnALoopbackListener) {
  EXPECT_EQ(CredentialsRefusal(Listening("127.0.0.1"), Request()), std::nullopt);
  EXPECT_EQ(CredentialsRefusal(Listening("::1"), Request()), std::nullopt);
  EXPECT_EQ(SchemeOf(Listening("127.0.0.1"), Request()), "http");
  const auto refusal = CredentialsRefusal(Listening("0.0.0.0"), Request());
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("http.listen 0.0.0.0:8080 serves plain HTTP"), std::string::npos);
  // A client cannot claim HTTPS for itself without a trusted proxy.
  EXPECT_TRUE(CredentialsRefusal(Listening("0.0.0.0"), Request("https")));
}

TEST(TransportSecurity, TlsOnTheListenerTakesThem) {
  Config config = Listening("0.0.0.0");
  config.http.tls_cert = "/etc/hephy/cert.pem";
  config.http.tls_key = "/etc/hephy/key.pem";
  EXPECT_EQ(CredentialsRefusal(config, Request()), std::nullopt);
  EXPECT_EQ(SchemeOf(config, Request("http")), "https");
}

TEST(TransportSecurity, BehindATrustedProxyTheProxySaysWhatTheClientSpoke) {
  for (const std::string host : {"0.0.0.0", "127.0.0.1"}) {
    Config config = Listening(host);
    config.http.trust_proxy = true;
    EXPECT_EQ(CredentialsRefusal(config, Request("https")), std::nullopt);
    EXPECT_EQ(SchemeOf(config, Request("https")), "https");
    const auto plain = CredentialsRefusal(config, Request("http"));
    ASSERT_TRUE(plain);
    EXPECT_NE(plain->find("http.trust_proxy"), std::string::npos);
    EXPECT_TRUE(CredentialsRefusal(config, Request()));
  }
}

}  // namespace
}  // namespace hephy
