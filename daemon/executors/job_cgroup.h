// The cgroup one buildah job's RUN steps run under, with builder.limits:
// memory, processes and CPU weight for all of its RUN steps together, so
// that a fork bomb or a memory hog fails its own build and nothing else.
// buildah gets it as --cgroup-parent; runc makes and removes a child of it
// for each RUN step, and the limits of the job's cgroup hold for them all.
//
// cgroup v1 (a hierarchy per controller under /sys/fs/cgroup), as root.
// Elsewhere jobs run without limits, and CgroupLimits::Problem says why.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "hephy/config.h"

namespace hephy {

class CgroupLimits {
 public:
  // Whether this machine lets hephyd put jobs in cgroups of their own,
  // found out once (it also removes what crashed hephyds left there).
  static const CgroupLimits& OfThisHost();

  // "" when usable, else why not ("cgroup v2 ...", "not root", ...).
  const std::string& Problem() const { return problem_; }
  // The v1 hierarchies hephyd's job cgroups live in: DIR/hephy.
  const std::filesystem::path& pids() const { return pids_; }
  const std::filesystem::path& memory() const { return memory_; }
  const std::filesystem::path& cpu() const { return cpu_; }

 private:
  CgroupLimits();
  std::string problem_;
  std::filesystem::path pids_, memory_, cpu_;
};

// Why the jobs of `config` run without builder.limits, or "" when they run
// under them: a CgroupLimits problem, or an isolation that puts RUN steps in
// no cgroup of hephyd's.
std::string BuildLimitsProblem(const Config& config);

class JobCgroup {
 public:
  // The cgroup of one job, with `limits`; does nothing where CgroupLimits
  // has a problem. Throws Error when a limit cannot be set.
  explicit JobCgroup(const BuildLimits& limits);
  ~JobCgroup();
  JobCgroup(const JobCgroup&) = delete;
  JobCgroup& operator=(const JobCgroup&) = delete;

  // buildah's --cgroup-parent, or nullopt for none (no limits here).
  std::optional<std::string> RunParent() const;

  // Which limit the job's RUN steps ran into, as a sentence; "" for none.
  std::string LimitHit() const;

 private:
  BuildLimits limits_;
  std::string name_;  // "hephy/PID-N"; empty when not made
};

}  // namespace hephy
