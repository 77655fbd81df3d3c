// One WebSocket to one target of Chromium's DevTools protocol (a browser or a
// page), for tests: Call() sends a command and returns its result, and every
// event that arrives meanwhile goes to the handler set with OnEvent(), in the
// order Chromium sent it. Single-threaded: nothing runs behind the caller's
// back; events are read only inside Call() and PumpUntil(). Every wait has a
// deadline, and a missed one throws naming the command or the condition.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace hephy {

// A command Chromium answered with an error, a connection that failed, or a
// deadline that passed; the message names which.
class DevToolsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DevToolsConnection {
 public:
  using Clock = std::chrono::steady_clock;
  using EventHandler = std::function<void(const std::string& method, const nlohmann::json& params)>;

  // Opens ws://127.0.0.1:PORT/PATH ("/devtools/page/ID"). Throws DevToolsError
  // naming the URL when nothing listens or Chromium refuses the handshake
  // (as it does for a target that does not exist).
  DevToolsConnection(uint16_t port, const std::string& path, Clock::time_point deadline)
      : url_("ws://127.0.0.1:" + std::to_string(port) + path) {
    namespace websocket = boost::beast::websocket;
    auto& tcp = boost::beast::get_lowest_layer(ws_);
    auto connected = std::make_shared<boost::system::error_code>(boost::asio::error::would_block);
    tcp.async_connect({boost::asio::ip::make_address("127.0.0.1"), port},
                      [connected](boost::system::error_code ec) { *connected = ec; });
    RunUntil([&] { return *connected != boost::asio::error::would_block; }, deadline,
             "connecting to " + url_);
    if (*connected)
      throw DevToolsError("DevTools: cannot connect to " + url_ + ": " + connected->message());
    auto handshake = std::make_shared<boost::system::error_code>(boost::asio::error::would_block);
    auto response = std::make_shared<websocket::response_type>();
    ws_.async_handshake(*response, "127.0.0.1:" + std::to_string(port), path,
                        [handshake, response](boost::system::error_code ec) { *handshake = ec; });
    RunUntil([&] { return *handshake != boost::asio::error::would_block; }, deadline,
             "the WebSocket handshake with " + url_);
    if (*handshake) {
      throw DevToolsError("DevTools: target " + url_ + " not found: Chromium answered " +
                          std::to_string(response->result_int()) + " to the WebSocket handshake (" +
                          handshake->message() + ")");
    }
    // Screenshots arrive as one base64 message.
    ws_.read_message_max(512 * 1024 * 1024);
    Read();
  }
  ~DevToolsConnection() {
    boost::system::error_code ec;
    boost::beast::get_lowest_layer(ws_).socket().close(ec);
  }
  DevToolsConnection(const DevToolsConnection&) = delete;
  DevToolsConnection& operator=(const DevToolsConnection&) = delete;

  const std::string& url() const { return url_; }

  // Called for each event, inside Call() and PumpUntil(). Must not throw.
  void OnEvent(EventHandler handler) { on_event_ = std::move(handler); }

  // Sends `method` with `params` and returns its result, handling the events
  // that come before it. Throws DevToolsError naming the method with
  // Chromium's message, when the connection ends, or at `deadline`.
  nlohmann::json Call(const std::string& method, const nlohmann::json& params,
                      Clock::time_point deadline) {
    const int id = next_id_++;
    auto text = std::make_shared<std::string>(
        nlohmann::json{{"id", id}, {"method", method}, {"params", params}}.dump());
    auto written = std::make_shared<boost::system::error_code>(boost::asio::error::would_block);
    // Whatever the wait below does, the handler keeps what it refers to alive.
    ws_.async_write(boost::asio::buffer(*text),
                    [text, written](boost::system::error_code ec, size_t) { *written = ec; });
    RunUntil([&] { return *written != boost::asio::error::would_block; }, deadline,
             "sending " + method);
    if (*written) throw DevToolsError("DevTools: sending " + method + ": " + written->message());
    RunUntil([&] { return replies_.contains(id); }, deadline, "the answer to " + method);
    nlohmann::json reply = std::move(replies_.at(id));
    replies_.erase(id);
    if (reply.contains("error")) {
      std::string message = reply["error"].value("message", reply["error"].dump());
      if (reply["error"].contains("data")) message += " (" + reply["error"]["data"].dump() + ")";
      throw DevToolsError("DevTools: " + method + " failed: " + message);
    }
    return reply.value("result", nlohmann::json::object());
  }

  // Handles events until `done()` is true (checked first and after each) or
  // `deadline` passes; returns done(). Throws when the connection ends.
  bool PumpUntil(const std::function<bool()>& done, Clock::time_point deadline) {
    try {
      RunUntil(done, deadline, "");
    } catch (const DevToolsTimeout&) {
      return false;
    }
    return true;
  }

 private:
  struct DevToolsTimeout : DevToolsError {
    using DevToolsError::DevToolsError;
  };

  // Runs handlers until `done()`; throws DevToolsTimeout naming `what` at
  // the deadline, DevToolsError when the connection ended.
  void RunUntil(const std::function<bool()>& done, Clock::time_point deadline,
                const std::string& what) {
    while (!done()) {
      if (!closed_.empty()) {
        throw DevToolsError("DevTools: " + url_ + " closed" +
                            (what.empty() ? "" : " while waiting for " + what) + ": " + closed_);
      }
      if (io_.stopped()) io_.restart();
      if (io_.run_one_until(deadline) == 0 && Clock::now() >= deadline) {
        throw DevToolsTimeout("DevTools: timed out waiting for " + what + " (" + url_ + ")");
      }
    }
  }

  // One read is always pending once connected: it hands each message on and
  // starts the next.
  void Read() {
    ws_.async_read(buffer_, [this](boost::system::error_code ec, size_t) {
      if (ec) {
        closed_ = ec.message();
        return;
      }
      nlohmann::json message =
          nlohmann::json::parse(boost::beast::buffers_to_string(buffer_.data()), nullptr, false);
      buffer_.consume(buffer_.size());
      if (message.contains("id")) {
        const int id = message["id"].get<int>();
        replies_[id] = std::move(message);
      } else if (message.contains("method") && on_event_) {
        on_event_(message["method"].get<std::string>(),
                  message.value("params", nlohmann::json::object()));
      }
      Read();
    });
  }

  const std::string url_;
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_{io_};
  boost::beast::flat_buffer buffer_;
  std::map<int, nlohmann::json> replies_;
  std::string closed_;  // why the connection ended; empty while open
  EventHandler on_event_;
  int next_id_ = 1;
};

}  // namespace hephy
