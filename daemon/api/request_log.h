// One log line per HTTP request, the API's and the web page's alike:
// "remote=R user=U METHOD PATH -> STATUS (N ms)", written when the handler
// is done, however it ended. A request given no answer (status 0) is logged
// as 500.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <string>

#include "api/http_server.h"

namespace hephy {

class RequestLog {
 public:
  // `who` and `level` are asked at the end, so that they may depend on what
  // the handler found out (the caller, the status).
  RequestLog(spdlog::logger& log, const HttpServerRequest& http, std::string path,
             std::function<std::string()> who,
             std::function<spdlog::level::level_enum(int status)> level)
      : log_(log),
        http_(http),
        path_(std::move(path)),
        who_(std::move(who)),
        level_(std::move(level)) {}
  ~RequestLog() {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start_)
                        .count();
    log_.log(level_(status), "remote={} user={} {} {} -> {} ({} ms)", http_.remote, who_(),
             http_.method, path_, status == 0 ? 500 : status, ms);
  }
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // The status answered; 0 until then.
  int status = 0;

 private:
  spdlog::logger& log_;
  const HttpServerRequest& http_;
  std::string path_;
  std::function<std::string()> who_;
  std::function<spdlog::level::level_enum(int)> level_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace hephy
