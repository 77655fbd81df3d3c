// `git daemon` serving the repositories under one directory over git:// on
// a free loopback port, for tests of fetching clients. Stopped at the end.
#pragma once

#include <signal.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "output_watcher.h"
#include "test_registry.h"  // FreeLoopbackPort
#include "util/process.h"

namespace hephy {

class GitDaemon {
 public:
  explicit GitDaemon(const std::filesystem::path& base) {
    for (int attempt = 1;; ++attempt) {
      port_ = FreeLoopbackPort();
      SpawnOptions options;
      options.argv = {"git",
                      "daemon",
                      "--verbose",  // for "Ready to rumble"
                      "--export-all",
                      "--reuseaddr",
                      "--informative-errors",
                      "--base-path=" + base.string(),
                      "--listen=127.0.0.1",
                      "--port=" + std::to_string(port_)};
      options.env = std::vector<std::string>{"PATH=/usr/bin:/bin", "HOME=" + base.string(),
                                             "GIT_CONFIG_NOSYSTEM=1"};
      options.pipe_stderr = true;
      child_ = Spawn(options);
      stderr_ = std::make_unique<OutputWatcher>(child_.stderr_fd().get());
      if (stderr_->WaitFor("Ready to rumble")) return;
      const std::string text = stderr_->Text();
      Stop();
      // Someone bound the port between FreeLoopbackPort and git daemon.
      if (attempt == 5 || text.find("in use") == std::string::npos) {
        throw std::runtime_error("git daemon did not start: " + text);
      }
    }
  }
  ~GitDaemon() { Stop(); }
  GitDaemon(const GitDaemon&) = delete;
  GitDaemon& operator=(const GitDaemon&) = delete;

  // git://127.0.0.1:PORT/PATH, PATH relative to the base directory.
  std::string Url(const std::string& path) const {
    return "git://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }

 private:
  void Stop() {
    if (child_.pid() > 0) {
      child_.KillGroup(SIGTERM);
      child_.Wait();
    }
    stderr_.reset();  // after the child: it reads to the end of the pipe
  }

  uint16_t port_ = 0;
  Child child_;
  std::unique_ptr<OutputWatcher> stderr_;
};

}  // namespace hephy
