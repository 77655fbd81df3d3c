// A headless Chromium for browser tests: Debian's `chromium` (never a
// downloaded browser), started with a fresh profile in a temporary directory
// and the DevTools protocol on a free loopback port, and killed with its
// whole process group (renderers, zygotes, GPU and network processes) when
// this object ends. Pages (browser_page.h) are tabs of it, each in its own
// browser context; they must end before it does.
//
//   HeadlessChromium chromium;          // ~1-2 s; share one per test where it helps
//   auto page = chromium.NewPage();
//   page->Navigate("http://127.0.0.1:" + std::to_string(port) + "/");
//
// The thread that starts Chromium must outlive it (it is killed when that
// thread ends). Throws DevToolsError naming the reason: no /usr/bin/chromium (install
// Debian's chromium package: scripts/install-deps), Chromium exiting or not
// listening in time (with the end of what it wrote to stderr).
#pragma once

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "browser_page.h"
#include "devtools_connection.h"
#include "test_dir.h"
#include "util/process.h"

namespace hephy {

class HeadlessChromium {
 public:
  using Clock = DevToolsConnection::Clock;
  struct Options {
    std::filesystem::path program = "/usr/bin/chromium";
    std::chrono::milliseconds start_timeout = std::chrono::seconds(30);
  };

  HeadlessChromium() : HeadlessChromium(Options{}) {}
  explicit HeadlessChromium(const Options& options) {
    const auto started = Clock::now();
    std::error_code ec;
    if (!std::filesystem::exists(options.program, ec)) {
      throw DevToolsError("headless chromium: " + options.program.string() +
                          " not found: install Debian's chromium package (scripts/install-deps "
                          "does)");
    }
    const std::filesystem::path profile = dir_.path() / "profile";
    std::filesystem::create_directories(profile);
    SpawnOptions spawn;
    // setpriv (util-linux, essential) kills Chromium when the thread that
    // started it ends, so that a test killed at its timeout or crashing
    // leaves no browser behind; its helpers follow when the browser is gone.
    spawn.argv = {"/usr/bin/setpriv",
                  "--pdeathsig",
                  "KILL",
                  "--",
                  options.program.string(),
                  "--headless",
                  "--no-sandbox",
                  "--disable-gpu",
                  "--disable-quic",
                  "--no-first-run",
                  "--no-default-browser-check",
                  "--disable-background-networking",
                  "--disable-component-update",
                  "--disable-sync",
                  "--disable-extensions",
                  "--hide-scrollbars",
                  "--mute-audio",
                  "--remote-debugging-address=127.0.0.1",
                  "--remote-debugging-port=0",
                  "--user-data-dir=" + profile.string(),
                  "about:blank"};
    // HOME in the test directory too: Chromium keeps NSS and crash state there.
    spawn.env = std::vector<std::string>{"HOME=" + dir_.path().string(), "PATH=/usr/bin:/bin"};
    spawn.pipe_stderr = true;
    process_ = Spawn(spawn);
    reader_ = std::thread([this] { ReadStderr(); });

    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
    const std::string marker = "DevTools listening on ws://127.0.0.1:";
    std::string browser_path;
    {
      std::unique_lock lock(mutex_);
      const bool listening = changed_.wait_until(lock, started + options.start_timeout, [&] {
        return stderr_.find(marker) != std::string::npos || stderr_closed_;
      });
      const size_t at = stderr_.find(marker);
      const size_t end = at == std::string::npos ? at : stderr_.find('\n', at);
      if (!listening || end == std::string::npos) {
        const std::string why = stderr_closed_ ? "exited" : "did not listen in time";
        const std::string tail = Tail();
        lock.unlock();
        Stop();
        throw DevToolsError("headless chromium: " + options.program.string() + " " + why +
                            "; the end of its stderr:\n" + tail);
      }
      const std::string address = stderr_.substr(at + marker.size(), end - at - marker.size());
      port_ = static_cast<uint16_t>(std::stoi(address));
      browser_path = address.substr(address.find('/'));
    }
    try {
      browser_ = std::make_unique<DevToolsConnection>(port_, browser_path,
                                                      started + options.start_timeout);
      version_ = browser_
                     ->Call("Browser.getVersion", nlohmann::json::object(),
                            started + options.start_timeout)
                     .value("product", "");
    } catch (...) {
      Stop();
      throw;
    }
    start_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  }

  ~HeadlessChromium() { Stop(); }
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  // A new tab at about:blank in a browser context of its own.
  std::unique_ptr<BrowserPage> NewPage(const BrowserPage::Options& options = {}) {
    return std::make_unique<BrowserPage>(*browser_, port_, options);
  }

  // The browser-wide DevTools connection (Target.*, Browser.*).
  DevToolsConnection& browser() { return *browser_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  // "Chrome/156.0.8078.114"
  const std::string& version() const { return version_; }
  // From the start to the browser answering over DevTools.
  std::chrono::milliseconds start_time() const { return start_time_; }
  // The last 64 KiB Chromium wrote to stderr.
  std::string StderrTail() {
    const std::lock_guard lock(mutex_);
    return Tail();
  }

 private:
  static constexpr size_t kKeep = 64 * 1024;

  // Kills the whole process group and waits until every process that
  // inherited stderr has exited: the pipe closes when the last one is gone.
  // That includes crashpad's handlers, which leave the group but end with
  // the browser.
  void Stop() {
    browser_.reset();
    if (process_.pid() > 0) {
      process_.KillGroup(SIGKILL);
      process_.Wait();
    }
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(10), [&] { return stderr_closed_; });
    }
    stop_ = true;
    if (reader_.joinable()) reader_.join();
  }

  // Keeps the end of stderr, so that Chromium never blocks on a full pipe
  // (it logs much: D-Bus is absent) and errors can show its last words.
  void ReadStderr() {
    const int fd = process_.stderr_fd().get();
    char buffer[8192];
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      // Wakes now and then to see stop_: a process that left the group
      // could hold the pipe open forever.
      if (poll(&p, 1, 200) <= 0) continue;
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      const std::lock_guard lock(mutex_);
      if (n <= 0) {
        stderr_closed_ = true;
        changed_.notify_all();
        return;
      }
      stderr_.append(buffer, n);
      if (stderr_.size() > 4 * kKeep && stderr_.find("DevTools listening") != std::string::npos) {
        stderr_.erase(0, stderr_.size() - kKeep);
      }
      changed_.notify_all();
    }
  }

  std::string Tail() const {
    return stderr_.size() <= kKeep ? stderr_ : stderr_.substr(stderr_.size() - kKeep);
  }

  TestDir dir_;
  Child process_;
  std::thread reader_;
  std::atomic<bool> stop_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string stderr_;
  bool stderr_closed_ = false;
  uint16_t port_ = 0;
  std::unique_ptr<DevToolsConnection> browser_;
  std::string version_;
  std::chrono::milliseconds start_time_{0};
};

}  // namespace hephy
