// Commits that make a repository an app hephyd builds, for integration tests
// that push them: each returns the new HEAD.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "foreign_busybox.h"
#include "test_daemon.h"

namespace hephy {

// An image that holds hello.txt: COPY only, so it builds for every platform
// without qemu.
inline std::string CommitCopyOnlyApp(const std::filesystem::path& repo,
                                     const std::string& greeting) {
  std::ofstream(repo / "hello.txt") << greeting << "\n";
  GitOk(repo, {"add", "hello.txt"});
  CommitFile(repo, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n", greeting);
  return GitOk(repo, {"rev-parse", "HEAD"}).substr(0, 40);
}

// An image whose RUN step runs busybox `sh -c SCRIPT`: Debian's
// busybox-static (statically linked: a base that needs nothing from outside
// this machine) for amd64, its arm64 build (through qemu; when
// scripts/test-fixtures has fetched it) for arm64.
inline std::string CommitRunApp(const std::filesystem::path& repo, const std::string& script) {
  std::filesystem::create_directories(repo / "amd64/bin");
  std::filesystem::create_directories(repo / "arm64/bin");
  std::filesystem::copy_file("/bin/busybox", repo / "amd64/bin/busybox",
                             std::filesystem::copy_options::overwrite_existing);
  if (std::filesystem::exists(Arm64Busybox())) {
    std::filesystem::copy_file(Arm64Busybox(), repo / "arm64/bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
  }
  GitOk(repo, {"add", "amd64", "arm64"});
  CommitFile(repo, "Dockerfile",
             "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}/ /\n"
             "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"" +
                 script + "\"]\n",
             "run " + script);
  return GitOk(repo, {"rev-parse", "HEAD"}).substr(0, 40);
}

}  // namespace hephy
