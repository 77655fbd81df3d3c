#include "net/egress_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "hephy/error.h"
#include "loopback_http_server.h"

namespace hephy {
namespace {

namespace http = boost::beast::http;

// An origin server that says which target it was asked for, with which
// Connection and Proxy-Authorization fields.
LoopbackHttpServer Origin() {
  return LoopbackHttpServer([] {
    return [](const LoopbackHttpServer::Request& request) {
      LoopbackHttpServer::Response response(http::status::ok, 11);
      response.body() = "target=" + std::string(request.target()) +
                        " connection=" + std::string(request[http::field::connection]) +
                        " proxy-auth=" + std::string(request[http::field::proxy_authorization]);
      return std::optional(response);
    };
  });
}

// A connection to the proxy's port.
int ConnectTo(const EgressProxy& proxy) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::stoi(proxy.url().substr(17))));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    throw std::runtime_error("cannot connect to the proxy");
  }
  return fd;
}

// Sends `request` to the proxy and reads until it closes the connection.
std::string Exchange(const EgressProxy& proxy, const std::string& request) {
  const int fd = ConnectTo(proxy);
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char chunk[4096];
  for (ssize_t n; (n = recv(fd, chunk, sizeof chunk, 0)) > 0;) answer.append(chunk, n);
  close(fd);
  return answer;
}

std::string StatusLine(const std::string& answer) { return answer.substr(0, answer.find("\r\n")); }

const std::vector<std::string> kLoopbackToo = {"127.0.0.0/8", "::1"};

TEST(EgressProxy, ListensOnALoopbackPortOfItsOwn) {
  const EgressProxy proxy{EgressPolicy()};
  EXPECT_TRUE(proxy.url().starts_with("http://127.0.0.1:")) << proxy.url();
  EXPECT_NE(EgressProxy(EgressPolicy()).url(), proxy.url());
}

TEST(EgressProxy, ForwardsAPlainHttpRequestWithoutWhatWasMeantForTheProxy) {
  auto origin = Origin();
  const EgressProxy proxy{EgressPolicy(kLoopbackToo)};
  const std::string authority = "127.0.0.1:" + std::to_string(origin.port());
  const std::string answer =
      Exchange(proxy, "GET http://" + authority + "/v2/x?n=1 HTTP/1.1\r\nHost: " + authority +
                          "\r\nProxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: "
                          "keep-alive\r\n\r\n");
  EXPECT_EQ(StatusLine(answer), "HTTP/1.1 200 OK") << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\ntarget=/v2/x?n=1 connection=close proxy-auth=")) << answer;
  EXPECT_TRUE(proxy.Refusals().empty());
}

TEST(EgressProxy, TunnelsAConnectToAnAllowedHost) {
  auto origin = Origin();
  const EgressProxy proxy{EgressPolicy(kLoopbackToo)};
  const std::string authority = "127.0.0.1:" + std::to_string(origin.port());
  const std::string answer =
      Exchange(proxy, "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority +
                          "\r\n\r\nGET /through HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusLine(answer), "HTTP/1.1 200 Connection established") << answer;
  EXPECT_NE(answer.find("target=/through connection=close"), std::string::npos) << answer;
}

TEST(EgressProxy, RefusesEverySpellingOfThisMachineBeforeConnecting) {
  auto origin = Origin();
  const EgressProxy proxy{EgressPolicy()};
  const std::string port = std::to_string(origin.port());
  for (const std::string host : {"127.0.0.1", "127.1", "0177.0.0.1", "2130706433", "0x7f.1",
                                 "localhost", "LocalHost", "[::ffff:127.0.0.1]", "[::1]"}) {
    for (const std::string& request :
         {"CONNECT " + host + ":" + port + " HTTP/1.1\r\n\r\n",
          "GET http://" + host + ":" + port + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n"}) {
      const std::string status = StatusLine(Exchange(proxy, request));
      EXPECT_TRUE(status.starts_with("HTTP/1.1 403 ")) << request << " -> " << status;
      EXPECT_NE(status.find("(loopback); hephyd fetches only public addresses unless "
                            "upstreams.allow_hosts lists the host"),
                std::string::npos)
          << status;
    }
  }
  EXPECT_EQ(origin.connections(), 0);
  const auto refusals = proxy.Refusals();
  ASSERT_EQ(refusals.size(), 18u);
  EXPECT_TRUE(refusals[2].starts_with("https://127.1:" + port + ": 127.1 resolves to 127.0.0.1"))
      << refusals[2];
  EXPECT_TRUE(refusals[3].starts_with("http://127.1:" + port + ": ")) << refusals[3];
}

TEST(EgressProxy, AnAllowedHostThatDoesNotAnswerIsABadGatewayNotARefusal) {
  std::string port;
  {
    auto gone = Origin();  // a port that was just free, closed again
    port = std::to_string(gone.port());
  }
  const EgressProxy proxy{EgressPolicy(kLoopbackToo)};
  const std::string status =
      StatusLine(Exchange(proxy, "CONNECT 127.0.0.1:" + port + " HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(status, "HTTP/1.1 502 cannot connect to 127.0.0.1 port " + port +
                        " (127.0.0.1: Connection refused)");
  EXPECT_TRUE(proxy.Refusals().empty());
}

TEST(EgressProxy, ConnectsToTheAddressItChecked) {
  auto origin = Origin();
  // The only answer for a name no DNS knows: reaching the origin at all
  // proves the proxy connected where its resolver said.
  const EgressPolicy policy({"127.0.0.1"}, [](const std::string& host, const std::string& port) {
    if (host != "registry.test") throw Error("cannot resolve " + host);
    return std::vector{SocketAddress::Parse("127.0.0.1", static_cast<uint16_t>(std::stoi(port)))};
  });
  const EgressProxy proxy{policy};
  const std::string authority = "registry.test:" + std::to_string(origin.port());
  const std::string answer =
      Exchange(proxy, "GET http://" + authority + "/ HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  EXPECT_EQ(StatusLine(answer), "HTTP/1.1 200 OK") << answer;
}

TEST(EgressProxy, RefusesAPlainHttpRedirectToARefusedHost) {
  LoopbackHttpServer origin([] {
    return [](const LoopbackHttpServer::Request& request) {
      LoopbackHttpServer::Response response(http::status::found, 11);
      response.set(http::field::location, request.target() == "/away"
                                              ? "http://127.0.0.2:9/metadata"
                                              : "/elsewhere-on-this-host");
      return std::optional(response);
    };
  });
  const EgressProxy proxy{EgressPolicy({"127.0.0.1"})};
  const std::string base = "http://127.0.0.1:" + std::to_string(origin.port());
  const std::string away = Exchange(proxy, "GET " + base + "/away HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(StatusLine(away).starts_with(
      "HTTP/1.1 403 127.0.0.2 resolves to 127.0.0.2 (loopback); hephyd fetches only"))
      << away;
  EXPECT_EQ(away.find("Location"), std::string::npos) << away;
  const std::string here = Exchange(proxy, "GET " + base + "/here HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusLine(here), "HTTP/1.1 302 Found") << here;
  EXPECT_NE(here.find("/elsewhere-on-this-host"), std::string::npos) << here;
  ASSERT_EQ(proxy.Refusals().size(), 1u);
  EXPECT_NE(proxy.Refusals()[0].find("redirects to http://127.0.0.2:9/metadata: "),
            std::string::npos)
      << proxy.Refusals()[0];
}

TEST(EgressProxy, AnswersWhatIsNotAProxyRequestWithBadRequest) {
  const EgressProxy proxy{EgressPolicy(kLoopbackToo)};
  for (const std::string request :
       {"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n", "CONNECT no-port HTTP/1.1\r\n\r\n",
        "GET http://user@127.0.0.1:1/ HTTP/1.1\r\n\r\n", "GET ftp://127.0.0.1/ HTTP/1.1\r\n\r\n",
        "CONNECT 127.0.0.1:99999 HTTP/1.1\r\n\r\n", "hello\r\n\r\n"}) {
    EXPECT_TRUE(StatusLine(Exchange(proxy, request)).starts_with("HTTP/1.1 400 ")) << request;
  }
}

TEST(EgressProxy, EndsOpenTunnelsWhenItIsDestroyed) {
  auto origin = Origin();
  auto proxy = std::make_unique<EgressProxy>(EgressPolicy(kLoopbackToo));
  const int fd = ConnectTo(*proxy);
  const std::string connect_request =
      "CONNECT 127.0.0.1:" + std::to_string(origin.port()) + " HTTP/1.1\r\n\r\n";
  send(fd, connect_request.data(), connect_request.size(), MSG_NOSIGNAL);
  char chunk[256];
  ASSERT_GT(recv(fd, chunk, sizeof chunk, 0), 0);  // the tunnel is open, and idle
  proxy.reset();                                   // returns: the tunnel's thread ended
  EXPECT_EQ(recv(fd, chunk, sizeof chunk, 0), 0);
  close(fd);
}

}  // namespace
}  // namespace hephy
