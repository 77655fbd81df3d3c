// builder: which executor builds, for which platforms and branches, how long
// a build may take and when scheduled rebuilds run.
#include <git2.h>

#include <cctype>
#include <cstdint>
#include <regex>

#include "build/rebuild_schedule.h"
#include "config/config_sections.h"
#include "git/libgit2.h"
#include "hephy/error.h"
#include "util/duration.h"
#include "util/names.h"

namespace hephy {
namespace {

// As `git check-ref-format --branch`: a valid ref under refs/heads/ that
// is neither "HEAD" nor starts with '-'.
bool IsValidBranchName(const std::string& branch) {
  git::Init();
  int valid = 0;
  return branch != "HEAD" && !branch.starts_with('-') &&
         git_reference_name_is_valid(&valid, ("refs/heads/" + branch).c_str()) == 0 && valid;
}

void ReadBuildahSection(const ConfigReader& r, Node node, Key key, BuildahConfig& buildah) {
  r.Map(node, key,
        {{"storage_driver",
          [&](Node v, Key vk) {
            buildah.storage_driver = r.Scalar(v, vk);
            if (buildah.storage_driver != "vfs" && buildah.storage_driver != "overlay") {
              r.Fail(v, vk, "expected vfs or overlay");
            }
          }},
         {"isolation", [&](Node v, Key vk) {
            buildah.isolation = r.Scalar(v, vk);
            if (buildah.isolation != "chroot" && buildah.isolation != "oci" &&
                buildah.isolation != "rootless") {
              r.Fail(v, vk, "expected chroot, oci or rootless");
            }
          }}});
}

// "auto", 0, or a size: a number with an optional k, m or g (powers of 1024).
uint64_t MemorySize(const ConfigReader& r, Node node, Key key) {
  const std::string text = r.Scalar(node, key);
  if (text == "auto") return BuildLimits::kAutoMemory;
  const uint64_t bytes =
      r.Size(node, key, text, "kmg",
             "expected auto, 0 (no limit) or a size such as 512m or 4g, got '" + text + "'");
  if (bytes != 0 && bytes < (64u << 20)) {
    r.Fail(node, key, "'" + text + "' is less than 64m, which no build runs in");
  }
  return bytes;
}

// A percentage of the disk ("10%") or a size, k, m, g or t.
void ReadCacheSize(const ConfigReader& r, Node node, Key key, BuildCacheConfig& cache) {
  const std::string text = r.Scalar(node, key);
  static const std::regex kPercent("([0-9]{1,2})%");
  std::smatch match;
  if (std::regex_match(text, match, kPercent)) {
    const int percent = std::stoi(match[1].str());
    if (percent < 1) r.Fail(node, key, "expected a share of the disk from 1% to 99%");
    cache.max_size_percent = percent;
    cache.max_size_bytes = 0;
    return;
  }
  cache.max_size_bytes =
      r.Size(node, key, text, "kmgt",
             "expected a share of the disk such as 10% or a size such as 20g, got '" + text + "'");
  if (cache.max_size_bytes == 0) {
    r.Fail(node, key, "expected a size above 0 (builder.cache.enabled: false turns it off)");
  }
}

void ReadCacheSection(const ConfigReader& r, Node node, Key key, BuildCacheConfig& cache) {
  r.Map(node, key,
        {{"enabled", [&](Node v, Key vk) { cache.enabled = r.Bool(v, vk); }},
         {"max_size", [&](Node v, Key vk) { ReadCacheSize(r, v, vk, cache); }},
         {"ttl", [&](Node v, Key vk) { cache.ttl = r.Duration(v, vk, "no limit"); }}});
}

void ReadLimitsSection(const ConfigReader& r, Node node, Key key, BuildLimits& limits) {
  const auto number = [&](Node v, Key vk, int low, int high, int& field) {
    int value = -1;
    if (!v.IsScalar() || !YAML::convert<int>::decode(v, value) ||
        (value != 0 && (value < low || value > high))) {
      r.Fail(v, vk,
             "expected 0 (no limit) or a number from " + std::to_string(low) + " to " +
                 std::to_string(high));
    }
    field = value;
  };
  r.Map(node, key,
        {{"memory", [&](Node v, Key vk) { limits.memory = MemorySize(r, v, vk); }},
         {"pids", [&](Node v, Key vk) { number(v, vk, 16, 4194304, limits.pids); }},
         {"cpu_shares", [&](Node v, Key vk) { number(v, vk, 2, 262144, limits.cpu_shares); }}});
}

}  // namespace

void ReadBuilderSection(const ConfigReader& r, Node node, Key key, BuilderConfig& b) {
  r.Map(node, key,
        {{"executor",
          [&](Node v, Key vk) {
            b.executor = r.Scalar(v, vk);
            if (b.executor != "buildah" && b.executor != "kaniko-kubernetes" &&
                b.executor != "kaniko-local") {
              r.Fail(v, vk,
                     "unknown executor '" + b.executor +
                         "' (expected buildah, kaniko-kubernetes or kaniko-local)");
            }
          }},
         {"platforms",
          [&](Node v, Key vk) {
            b.platforms = r.StringList(v, vk);
            if (b.platforms.empty()) r.Fail(v, vk, "needs at least one platform");
            for (const auto& p : b.platforms) {
              if (!IsValidPlatform(p)) {
                r.Fail(v, vk, "invalid platform '" + p + "' (expected os/arch[/variant])");
              }
            }
          }},
         {"branches",
          [&](Node v, Key vk) {
            b.branches = r.StringList(v, vk);
            if (b.branches.empty()) r.Fail(v, vk, "needs at least one branch");
            for (const auto& branch : b.branches) {
              if (!IsValidBranchName(branch)) r.Fail(v, vk, "invalid branch name '" + branch + "'");
            }
          }},
         {"network",
          [&](Node v, Key vk) {
            const auto mode = ParseNetworkMode(r.Scalar(v, vk));
            if (!mode) r.Fail(v, vk, "expected isolated, none or host");
            b.network = *mode;
          }},
         {"timeout",
          [&](Node v, Key vk) {
            try {
              b.timeout = ParseDuration(r.Scalar(v, vk));
            } catch (const Error& e) {
              r.Fail(v, vk, e.what());
            }
          }},
         {"rebuild_schedule",
          [&](Node v, Key vk) {
            b.rebuild_schedule = r.Scalar(v, vk);
            try {
              RebuildSchedule::Parse(b.rebuild_schedule);
            } catch (const Error& e) {
              // The reader names the key already.
              std::string reason = e.what();
              const std::string schedule_key = "builder.rebuild_schedule: ";
              if (reason.starts_with(schedule_key)) reason.erase(0, schedule_key.size());
              r.Fail(v, vk, reason);
            }
          }},
         {"max_jobs",
          [&](Node v, Key vk) {
            int value = -1;
            if (!v.IsScalar() || !YAML::convert<int>::decode(v, value) || value < 0) {
              r.Fail(v, vk, "expected 0 (one per CPU core) or a positive integer");
            }
            b.max_jobs = value;
          }},
         {"limits", [&](Node v, Key vk) { ReadLimitsSection(r, v, vk, b.limits); }},
         {"cache", [&](Node v, Key vk) { ReadCacheSection(r, v, vk, b.cache); }},
         {"kaniko", [&](Node v, Key vk) { ReadKanikoSection(r, v, vk, b.kaniko); }},
         {"kubernetes", [&](Node v, Key vk) { ReadKubernetesSection(r, v, vk, b.kubernetes); }},
         {"buildah", [&](Node v, Key vk) { ReadBuildahSection(r, v, vk, b.buildah); }}});
  // chroot runs RUN steps in the host's network namespace, and the isolated
  // bridge is set up for runc's containers only.
  const std::string& isolation = b.buildah.isolation;
  if (b.executor == "buildah" && b.network != NetworkMode::kHost &&
      (isolation == "chroot" || (isolation == "rootless" && b.network == NetworkMode::kIsolated))) {
    r.Fail(node, key,
           "network " + std::string(NetworkModeName(b.network)) +
               " cannot be kept with buildah.isolation " + isolation + ": " +
               (isolation == "chroot" ? "it shares the host's network"
                                      : "rootless builds cannot use hephyd's build bridge") +
               "; use buildah.isolation oci, or network " +
               (isolation == "rootless" ? "none or host" : "host"));
  }
}

}  // namespace hephy
