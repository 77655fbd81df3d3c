#include "executors/job_cgroup.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace hephy {
namespace {

std::string FirstLine(const std::filesystem::path& file) {
  std::string line;
  std::getline(std::ifstream(file) >> std::ws, line);
  return line;
}

TEST(BuildLimitsProblem, ChrootAndRootlessRunStepsOutsideHephydsCgroups) {
  Config config;
  config.builder.buildah.isolation = "chroot";
  EXPECT_EQ(BuildLimitsProblem(config),
            "buildah.isolation chroot runs RUN steps in no cgroup of hephyd's");
  config.builder.buildah.isolation = "oci";
  EXPECT_EQ(BuildLimitsProblem(config), CgroupLimits::OfThisHost().Problem());
}

TEST(JobCgroup, HoldsTheLimitsWhileTheJobRunsAndGoesAfter) {
  const CgroupLimits& host = CgroupLimits::OfThisHost();
  if (!host.Problem().empty()) GTEST_SKIP() << "no job cgroups here: " << host.Problem();
  BuildLimits limits;
  limits.memory = 256ull << 20;
  limits.pids = 100;
  limits.cpu_shares = 512;
  std::filesystem::path pids, memory, cpu;
  {
    const JobCgroup job(limits);
    const auto parent = job.RunParent();
    ASSERT_TRUE(parent);
    ASSERT_TRUE(parent->starts_with("/hephy/") && parent->ends_with("/run")) << *parent;
    const std::string name = std::filesystem::path(*parent).parent_path().filename();
    pids = host.pids() / name;
    memory = host.memory() / name;
    cpu = host.cpu() / name;
    EXPECT_EQ(FirstLine(pids / "pids.max"), "100");
    EXPECT_EQ(FirstLine(memory / "memory.limit_in_bytes"), std::to_string(256ull << 20));
    EXPECT_EQ(FirstLine(cpu / "cpu.shares"), "512");
    EXPECT_EQ(job.LimitHit(), "");  // nothing ran yet
  }
  EXPECT_FALSE(std::filesystem::exists(pids));
  EXPECT_FALSE(std::filesystem::exists(memory));
  EXPECT_FALSE(std::filesystem::exists(cpu));
}

}  // namespace
}  // namespace hephy
