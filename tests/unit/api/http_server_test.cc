// The HTTP server on a loopback port: keep-alive, limits, timeouts, streams
// and stopping, with small limits and handlers written for each test.
#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>

#include "hephy/error.h"
#include "net/http_connection.h"
#include "util/process.h"

namespace hephy {
namespace {

using namespace std::chrono_literals;

// A server on a free loopback port, stopped at the end.
class TestServer {
 public:
  explicit TestServer(HttpHandler handler, HttpServerLimits limits = Quick(),
                      HttpServerOptions options = {})
      : server_({"127.0.0.1", 0}, limits, std::move(handler), std::move(options)) {
    port_ = server_.Listen().port;
    server_.Start();
  }

  static HttpServerLimits Quick() {
    return {.max_connections = 4,
            .max_header_bytes = 1024,
            .max_body_bytes = 100,
            .request_timeout = 300ms,
            .write_timeout = 2s};
  }

  HttpResponse Send(HttpRequest request) {
    HttpConnection connection({"127.0.0.1", port_}, 5s, 1024 * 1024);
    return connection.Send(request);
  }
  HttpConnection Connection() { return HttpConnection({"127.0.0.1", port_}, 5s, 1024 * 1024); }
  uint16_t port() const { return port_; }
  HttpServer& server() { return server_; }

 private:
  HttpServer server_;
  uint16_t port_ = 0;
};

// A plain TCP client, for what HttpConnection would not send.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  void Send(const std::string& text) {
    EXPECT_EQ(send(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }
  // Reads until `needle` has come or the connection closes; at most `timeout`.
  std::string ReadUntil(const std::string& needle, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos && !closed_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_.get(), POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      const ssize_t n = recv(fd_.get(), buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buffer, n);
    }
    return received_;
  }
  // Reads until the server closes the connection; false after `timeout`.
  bool WaitForClose(std::chrono::milliseconds timeout = 5s) {
    ReadUntil(std::string(1, '\0') + "never", timeout);
    return closed_;
  }
  void Close() { fd_.Reset(); }

 private:
  UniqueFd fd_;
  std::string received_;
  bool closed_ = false;
};

HttpServerResponse Text(const std::string& body) { return {200, "text/plain", {}, body}; }

TEST(HttpServer, KeepsTheConnectionForTheNextRequest) {
  TestServer server([](const HttpServerRequest& request, HttpExchange& exchange) {
    exchange.Respond(Text(request.remote + " " + request.target + " " +
                          (request.remote_loopback ? "loopback" : "remote") + " " +
                          request.Header("x-test")));
  });
  HttpConnection connection = server.Connection();
  const HttpResponse first = connection.Send({"GET", "/one", {{"X-Test", "a"}}, ""});
  const HttpResponse second = connection.Send({"GET", "/two", {{"X-Test", "b"}}, ""});
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.Header("content-type"), "text/plain");
  const std::string remote = first.body.substr(0, first.body.find(' '));
  EXPECT_TRUE(remote.starts_with("127.0.0.1:")) << first.body;
  EXPECT_EQ(first.body, remote + " /one loopback a");
  // The same client port: one connection.
  EXPECT_EQ(second.body, remote + " /two loopback b");
}

TEST(HttpServer, ManyRequestsOnOneConnectionEachGetTheirOwnAnswer) {
  // The next request is read only once the last answer is written: a
  // handler's thread still finishing may not answer for it.
  TestServer server([](const HttpServerRequest& request, HttpExchange& exchange) {
    exchange.Respond(Text(request.target));
  });
  HttpConnection connection = server.Connection();
  for (int i = 0; i < 200; ++i) {
    const HttpResponse r = connection.Send({"GET", "/" + std::to_string(i), {}, ""});
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body, "/" + std::to_string(i));
  }
}

TEST(HttpServer, StreamedBodiesComeAsTheyArriveWithoutALimit) {
  std::mutex mutex;
  std::condition_variable changed;
  std::string received;
  TestServer server(
      [&](const HttpServerRequest& request, HttpExchange& exchange) {
        EXPECT_TRUE(request.body.empty());
        char buffer[10];  // each read fills it: 100 bytes are ten
        while (const size_t n = exchange.ReadBody(buffer)) {
          std::lock_guard lock(mutex);
          received.append(buffer, n);
          changed.notify_all();
        }
        exchange.Respond(Text("got " + std::to_string(received.size())));
      },
      TestServer::Quick(),
      {.streamed_bodies = [](const HttpServerRequest& head) { return head.target == "/stream"; }});
  RawClient client(server.port());
  // Chunked, larger than max_body_bytes, and told to go on only when asked.
  client.Send(
      "POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Expect: 100-continue\r\n\r\n");
  EXPECT_NE(client.ReadUntil("HTTP/1.1 100 Continue\r\n\r\n").find("100 Continue"),
            std::string::npos);
  client.Send("64\r\n" + std::string(100, 'a') + "\r\n");
  {
    std::unique_lock lock(mutex);
    // The first part reaches the handler before the rest is sent.
    EXPECT_TRUE(changed.wait_for(lock, 5s, [&] { return received.size() == 100; }));
  }
  client.Send("32\r\n" + std::string(50, 'b') + "\r\n0\r\n\r\n");
  const std::string answer = client.ReadUntil("got 150");
  EXPECT_NE(answer.find("got 150"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(received, std::string(100, 'a') + std::string(50, 'b'));
}

TEST(HttpServer, ALargeChunkedBodyStreamsWhole) {
  std::atomic<size_t> received = 0;
  TestServer server(
      [&](const HttpServerRequest&, HttpExchange& exchange) {
        std::vector<char> buffer(64 * 1024);
        while (const size_t n = exchange.ReadBody(buffer)) received += n;
        exchange.Respond(Text("got " + std::to_string(received)));
      },
      TestServer::Quick(), {.streamed_bodies = [](const HttpServerRequest&) { return true; }});
  RawClient client(server.port());
  client.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  // 3 MiB in chunks of 65 KiB and 1 byte, as curl writes them.
  std::string chunks;
  for (int i = 0; i < 48; ++i) {
    chunks += "10400\r\n" + std::string(0x10400, 'x') + "\r\n1\r\ny\r\n";
  }
  client.Send(chunks + "0\r\n\r\n");
  const size_t total = 48 * (0x10400 + 1);
  const std::string answer = client.ReadUntil("got " + std::to_string(total));
  EXPECT_NE(answer.find("got " + std::to_string(total)), std::string::npos) << answer;
}

TEST(HttpServer, AStreamedBodyThatStopsComingIsAnErrorForTheHandler) {
  std::promise<std::string> error;
  TestServer server(
      [&](const HttpServerRequest&, HttpExchange& exchange) {
        char buffer[64];
        try {
          while (exchange.ReadBody(buffer) != 0) {
          }
          error.set_value("");
        } catch (const Error& e) {
          error.set_value(e.what());
        }
        exchange.Respond(Text("late"));
      },
      TestServer::Quick(), {.streamed_bodies = [](const HttpServerRequest&) { return true; }});
  RawClient client(server.port());
  client.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  auto result = error.get_future();
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), "the client sent nothing for 300 ms");
}

// The handler's thread reads a streamed body itself; a stream it begins
// before the body has all come is written the same way, and once the body is
// in, a client that hangs up still stops the stream.
TEST(HttpServer, AStreamBegunWhileTheBodyComesGoesOnAndSeesAHangUp) {
  std::promise<void> stopped;
  std::string received;
  TestServer server(
      [&](const HttpServerRequest&, HttpExchange& exchange) {
        char buffer[5];
        ASSERT_EQ(exchange.ReadBody(buffer), 5u);
        received.assign(buffer, 5);
        ASSERT_TRUE(exchange.StartStream({200, "text/plain", {}, ""}));
        ASSERT_TRUE(exchange.Write("early\n"));
        while (const size_t n = exchange.ReadBody(buffer)) received.append(buffer, n);
        ASSERT_TRUE(exchange.Write("late\n"));
        std::mutex mutex;
        std::condition_variable_any never;
        std::unique_lock lock(mutex);
        never.wait(lock, exchange.stopping(), [] { return false; });
        stopped.set_value();
      },
      TestServer::Quick(), {.streamed_bodies = [](const HttpServerRequest&) { return true; }});
  RawClient client(server.port());
  client.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nfirst");
  EXPECT_NE(client.ReadUntil("early\n").find("early\n"), std::string::npos);
  client.Send("after");
  EXPECT_NE(client.ReadUntil("late\n").find("late\n"), std::string::npos);
  client.Close();
  EXPECT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(received, "firstafter");
}

TEST(HttpServer, StopEndsAHandlerWaitingForItsBody) {
  std::promise<std::string> error;
  HttpServerLimits limits = TestServer::Quick();
  limits.request_timeout = 60s;  // so that only Stop can end the wait
  TestServer server(
      [&](const HttpServerRequest&, HttpExchange& exchange) {
        char buffer[64];
        try {
          while (exchange.ReadBody(buffer) != 0) {
          }
          error.set_value("");
        } catch (const Error& e) {
          error.set_value(e.what());
        }
      },
      limits, {.streamed_bodies = [](const HttpServerRequest&) { return true; }});
  RawClient client(server.port());
  client.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
  auto result = error.get_future();
  EXPECT_EQ(result.wait_for(200ms), std::future_status::timeout);
  server.server().Stop();
  ASSERT_EQ(result.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(result.get(), "the server is stopping");
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServer, LargeBodiesAre413AndLargeHeaders431) {
  std::atomic<int> handled = 0;
  TestServer server([&](const HttpServerRequest&, HttpExchange& exchange) {
    ++handled;
    exchange.Respond(Text("ok"));
  });
  HttpResponse r = server.Send({"POST", "/", {}, std::string(101, 'x')});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "request body larger than 100 bytes");
  r = server.Send({"GET", "/", {{"X-Big", std::string(2000, 'y')}}, ""});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "request headers larger than 1024 bytes");
  EXPECT_EQ(server.Send({"POST", "/", {}, std::string(100, 'x')}).status, 200);
  EXPECT_EQ(handled, 1);
}

TEST(HttpServer, MalformedRequestsAre400) {
  TestServer server(
      [](const HttpServerRequest&, HttpExchange& exchange) { exchange.Respond(Text("ok")); });
  RawClient client(server.port());
  client.Send("GET / HTTP/1.1\r\nHost x\r\n\r\n");
  const std::string answer = client.ReadUntil("\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << answer;
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServer, IdleAndSlowClientsAreClosedAfterTheRequestTimeout) {
  TestServer server(
      [](const HttpServerRequest&, HttpExchange& exchange) { exchange.Respond(Text("ok")); });
  RawClient idle(server.port());
  RawClient slow(server.port());
  slow.Send("GET / HTTP/1.1\r\nHost: x\r\n");  // and never the rest
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.WaitForClose());
  EXPECT_TRUE(slow.WaitForClose());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(HttpServer, ConnectionsBeyondTheLimitAre503) {
  HttpServerLimits limits = TestServer::Quick();
  limits.max_connections = 1;
  limits.request_timeout = 10s;
  TestServer server(
      [](const HttpServerRequest&, HttpExchange& exchange) { exchange.Respond(Text("ok")); },
      limits);
  HttpConnection first = server.Connection();
  ASSERT_EQ(first.Send({"GET", "/", {}, ""}).status, 200);  // and kept open
  const HttpResponse second = server.Send({"GET", "/", {}, ""});
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(nlohmann::json::parse(second.body)["error"], "too many connections; try again later");
  first.Close();
}

TEST(HttpServer, HandlersThatThrowOrDoNotAnswerGet500) {
  TestServer server([](const HttpServerRequest& request, HttpExchange&) {
    if (request.target == "/throw") throw std::runtime_error("secret detail");
  });
  for (const char* target : {"/throw", "/silent"}) {
    const HttpResponse r = server.Send({"GET", target, {}, ""});
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body, "{\"error\":\"internal error\"}\n");
  }
}

TEST(HttpServer, StreamsAreChunkedAndEndWithTheLastChunk) {
  TestServer server([](const HttpServerRequest&, HttpExchange& exchange) {
    ASSERT_TRUE(exchange.StartStream({200, "text/plain", {{"X-Stream", "yes"}}, ""}));
    EXPECT_TRUE(exchange.Write("first\n"));
    EXPECT_TRUE(exchange.Write(""));
    EXPECT_TRUE(exchange.Write("second\n"));
    exchange.Finish();
  });
  const HttpResponse r = server.Send({"GET", "/", {}, ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.Header("x-stream"), "yes");
  EXPECT_EQ(r.body, "first\nsecond\n");
}

// A handler that streams one line, then waits until it is told to stop.
struct WaitingStream {
  std::promise<void> stopped;
  void operator()(const HttpServerRequest&, HttpExchange& exchange) {
    exchange.StartStream({200, "text/plain", {}, ""});
    exchange.Write("first\n");
    std::mutex mutex;
    std::condition_variable_any never;
    std::unique_lock lock(mutex);
    never.wait(lock, exchange.stopping(), [] { return false; });
    EXPECT_FALSE(exchange.Write("too late\n"));
    stopped.set_value();
  }
};

TEST(HttpServer, AClientThatGoesAwayStopsItsStream) {
  WaitingStream handler;
  auto stopped = handler.stopped.get_future();
  TestServer server([&](const HttpServerRequest& r, HttpExchange& e) { handler(r, e); });
  RawClient client(server.port());
  client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(client.ReadUntil("first\n").find("first\n"), std::string::npos);
  client.Close();
  EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
}

TEST(HttpServer, StopCutsStreamsAndWaitsForTheirHandlers) {
  WaitingStream handler;
  auto stopped = handler.stopped.get_future();
  TestServer server([&](const HttpServerRequest& r, HttpExchange& e) { handler(r, e); });
  RawClient client(server.port());
  client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  client.ReadUntil("first\n");
  server.server().Stop();
  EXPECT_EQ(stopped.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(client.WaitForClose());
  // Cut off: no last chunk.
  EXPECT_EQ(client.ReadUntil("0\r\n\r\n").find("0\r\n\r\n"), std::string::npos);
  server.server().Stop();  // again: nothing happens
}

TEST(HttpServer, ListenNamesTheAddressWhenItCannotBind) {
  TestServer taken(
      [](const HttpServerRequest&, HttpExchange& exchange) { exchange.Respond(Text("ok")); });
  HttpServer second({"127.0.0.1", taken.port()}, {}, nullptr);
  try {
    second.Listen();
    ADD_FAILURE() << "bound a taken port";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "http.listen 127.0.0.1:" + std::to_string(taken.port()) + ": Address already in use");
  }
}

}  // namespace
}  // namespace hephy
