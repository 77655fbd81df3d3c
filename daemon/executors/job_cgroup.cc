#include "executors/job_cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "hephy/error.h"

namespace hephy {
namespace {

const std::filesystem::path kCgroupRoot = "/sys/fs/cgroup";

// The number a one-value file holds, or 0.
uint64_t Counter(const std::filesystem::path& file) {
  uint64_t value = 0;
  std::ifstream(file) >> value;
  return value;
}

// The number after `key` on its own line of a "key value" file, or 0.
uint64_t Counter(const std::filesystem::path& file, const std::string& key) {
  std::ifstream lines(file);
  std::string name;
  uint64_t value = 0;
  while (lines >> name >> value) {
    if (name == key) return value;
  }
  return 0;
}

void WriteValue(const std::filesystem::path& file, const std::string& value) {
  std::ofstream out(file);
  out << value;
  out.close();
  if (!out) {
    throw Error("builder.limits: cannot write " + value + " to " + file.string() + ": " +
                std::strerror(errno));
  }
}

// Every hierarchy's "hephy" directory: runc makes the job's path in each
// one it manages (blkio, devices, freezer, ...), not only in those hephyd
// sets limits in.
std::vector<std::filesystem::path> HephyDirs() {
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  for (const auto& hierarchy : std::filesystem::directory_iterator(kCgroupRoot, ec)) {
    if (std::filesystem::is_directory(hierarchy.path() / "hephy")) {
      dirs.push_back(hierarchy.path() / "hephy");
    }
  }
  return dirs;
}

void RemoveJob(const std::filesystem::path& dir) {
  rmdir((dir / "run").c_str());
  rmdir(dir.c_str());
}

// Removes the cgroups of hephyds that are gone: a job's, once its
// processes have ended, is an empty directory (with runc's "run" child).
void RemoveLeftovers(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename();
    const auto dash = name.find('-');
    if (dash == std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(name.substr(0, dash).c_str()));
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    RemoveJob(entry.path());
  }
}

// "96 MiB", "2 GiB", "1.5 GiB".
std::string Size(uint64_t bytes) {
  if (bytes < (1ull << 30)) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
  std::ostringstream text;
  text.precision(1);
  text << std::fixed << static_cast<double>(bytes) / (1ull << 30) << " GiB";
  return text.str();
}

}  // namespace

const CgroupLimits& CgroupLimits::OfThisHost() {
  static const CgroupLimits host;
  return host;
}

CgroupLimits::CgroupLimits() {
  if (std::filesystem::exists(kCgroupRoot / "cgroup.controllers")) {
    problem_ = "this host has cgroup v2 only, where hephyd does not set builder.limits yet";
    return;
  }
  if (geteuid() != 0) {
    problem_ = "hephyd runs as uid " + std::to_string(geteuid()) + ", and cgroups need root";
    return;
  }
  for (auto [controller, dir] : {std::pair{"pids", &pids_}, {"memory", &memory_}, {"cpu", &cpu_}}) {
    const std::filesystem::path hierarchy = kCgroupRoot / controller;
    if (!std::filesystem::exists(hierarchy / "cgroup.procs")) {
      problem_ = std::string("no cgroup v1 ") + controller + " hierarchy at " + hierarchy.string();
      return;
    }
    *dir = hierarchy / "hephy";
    if (mkdir(dir->c_str(), 0755) != 0 && errno != EEXIST) {
      problem_ = "cannot create " + dir->string() + ": " + std::strerror(errno);
      return;
    }
  }
  for (const auto& dir : HephyDirs()) RemoveLeftovers(dir);
}

std::string BuildLimitsProblem(const Config& config) {
  if (config.builder.buildah.isolation != "oci") {
    return "buildah.isolation " + config.builder.buildah.isolation +
           " runs RUN steps in no cgroup of hephyd's";
  }
  return CgroupLimits::OfThisHost().Problem();
}

JobCgroup::JobCgroup(const BuildLimits& limits) : limits_(limits) {
  const CgroupLimits& host = CgroupLimits::OfThisHost();
  if (!host.Problem().empty()) return;
  static std::atomic<uint64_t> jobs = 0;
  const std::string name = std::to_string(getpid()) + "-" + std::to_string(++jobs);
  for (const auto* dir : {&host.pids(), &host.memory(), &host.cpu()}) {
    if (mkdir((*dir / name).c_str(), 0755) != 0) {
      throw Error("builder.limits: cannot create " + (*dir / name).string() + ": " +
                  std::strerror(errno));
    }
  }
  name_ = name;  // from here on the destructor removes them
  WriteValue(host.pids() / name / "pids.max",
             limits.pids > 0 ? std::to_string(limits.pids) : std::string("max"));
  if (limits.memory > 0) {
    WriteValue(host.memory() / name / "memory.limit_in_bytes", std::to_string(limits.memory));
  }
  if (limits.cpu_shares > 0) {
    WriteValue(host.cpu() / name / "cpu.shares", std::to_string(limits.cpu_shares));
  }
}

JobCgroup::~JobCgroup() {
  if (name_.empty()) return;
  for (const auto& dir : HephyDirs()) RemoveJob(dir / name_);
}

std::optional<std::string> JobCgroup::RunParent() const {
  if (name_.empty()) return std::nullopt;
  return "/hephy/" + name_ + "/run";
}

// runc removes the cgroup of each RUN step, with the counters of what the
// kernel refused or killed there; the job's own cgroup keeps its peaks.
std::string JobCgroup::LimitHit() const {
  if (name_.empty()) return "";
  const CgroupLimits& host = CgroupLimits::OfThisHost();
  const auto memory = host.memory() / name_;
  if (limits_.memory > 0 && Counter(memory / "memory.failcnt") > 0 &&
      Counter(memory / "memory.max_usage_in_bytes") >= limits_.memory) {
    return "a RUN step used all of builder.limits.memory (" + Size(limits_.memory) +
           "), where the kernel kills what asks for more";
  }
  const auto pids = host.pids() / name_;
  const bool at_most = std::filesystem::exists(pids / "pids.peak")
                           ? Counter(pids / "pids.peak") >= static_cast<uint64_t>(limits_.pids)
                           : Counter(pids / "pids.events", "max") > 0;
  if (limits_.pids > 0 && at_most) {
    return "a RUN step tried to run more than " + std::to_string(limits_.pids) +
           " processes at once (builder.limits.pids)";
  }
  return "";
}

}  // namespace hephy
