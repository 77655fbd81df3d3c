#include "net/http_head.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(HttpHead, AuthoritiesWithAndWithoutPortsAndBrackets) {
  const auto a = ParseAuthority("registry.example:5000", "443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "registry.example");
  EXPECT_EQ(a->port, "5000");
  EXPECT_EQ(ParseAuthority("example.com", "443")->port, "443");
  EXPECT_EQ(ParseAuthority("[::1]:8080", "")->host, "::1");
  EXPECT_EQ(ParseAuthority("[fe80::1%25eth0]", "80")->host, "fe80::1%25eth0");
  for (const char* bad : {"", ":80", "host:", "host:0", "host:65536", "host:123456", "host:8a",
                          "user@host", "[::1", "[::1]x", "a b:80", "h\xc3\xa9:80", "no-port"}) {
    EXPECT_FALSE(ParseAuthority(bad, std::string_view(bad) == "no-port" ? "" : "80")) << bad;
  }
}

TEST(HttpHead, AbsoluteUrls) {
  const auto url = ParseAbsoluteUrl("HTTP://Example.com:8080/a/b?c=d#e");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->authority.host, "Example.com");
  EXPECT_EQ(url->authority.port, "8080");
  EXPECT_EQ(url->path, "/a/b?c=d#e");
  EXPECT_EQ(ParseAbsoluteUrl("https://example.com")->path, "/");
  EXPECT_EQ(ParseAbsoluteUrl("https://example.com")->authority.port, "443");
  EXPECT_EQ(ParseAbsoluteUrl("http://example.com?x")->path, "/?x");
  for (const char* bad : {"/relative", "ftp://example.com/", "http://", "http://a b/",
                          "http://example.com/a b", "http://example.com/\r\nX: y"}) {
    EXPECT_FALSE(ParseAbsoluteUrl(bad)) << bad;
  }
}

TEST(HttpHead, FieldsAreReadAndForwardedWithoutThisHopsOnes) {
  const HttpHead head = ParseHttpHead(
      "GET http://x/ HTTP/1.1\r\nHost: x\r\nproxy-authorization: Basic c2VjcmV0\r\n"
      "Connection: keep-alive\r\nAccept:  */*  \r\nnot a field\r\nX-Bad: a\rb\r\n\r\n");
  EXPECT_EQ(head.start_line, "GET http://x/ HTTP/1.1");
  EXPECT_EQ(head.Field("HOST"), "x");
  EXPECT_EQ(head.Field("accept"), "*/*");
  EXPECT_EQ(head.Field("X-Bad"), std::nullopt);
  EXPECT_EQ(head.ForwardedWith("GET / HTTP/1.1"),
            "GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nConnection: close\r\n\r\n");
}

}  // namespace
}  // namespace hephy
