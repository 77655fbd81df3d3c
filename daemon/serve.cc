#include "serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <thread>

#include "hephy/error.h"
#include "hephy/repo_store.h"
#include "hephy/store.h"
#include "ssh_server.h"

namespace hephy {
namespace {

void MakePrivateDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
  chmod(dir.c_str(), 0700);  // host keys, the database and every repository live here
}

}  // namespace

int Serve(const Config& config) {
  MakePrivateDirectory(config.data_dir);
  MakePrivateDirectory(config.ReposDir());
  MakePrivateDirectory(config.LogsDir());
  {
    Store store(config.DatabasePath());
    if (const int applied = store.Migrate()) {
      spdlog::info("applied {} schema migration(s) to {}", applied, config.DatabasePath().string());
    }
  }
  const RepoStore repos(config.ReposDir(), HookProgramBesideExecutable(),
                        config.builder.branches.front());

  // Signals are taken by one thread with sigwait; every other thread
  // (created after this) inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SshServer server(config, repos);
  const ListenAddress bound = server.Listen();
  spdlog::info("hephyd {} serving SSH on {} (data in {})", HEPHY_VERSION, bound.ToString(),
               config.data_dir.string());

  std::thread signals([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    spdlog::info("received {}, stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
    server.Stop();
  });
  try {
    server.Run();
  } catch (...) {
    pthread_kill(signals.native_handle(), SIGTERM);  // ends its sigwait
    signals.join();
    throw;
  }
  // Run only returns after Stop, which only the signal thread calls.
  signals.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hephy
