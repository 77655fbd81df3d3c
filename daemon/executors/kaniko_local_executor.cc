#include "executors/kaniko_local_executor.h"

#include <unistd.h>

#include <fstream>
#include <regex>

#include "executors/job_process.h"
#include "executors/kaniko_args.h"
#include "hephy/error.h"
#include "registry/docker_config.h"
#include "util/private_file.h"

extern char** environ;

namespace hephy {
namespace {

std::filesystem::path DockerConfigDir(const PlatformJobSpec& spec) {
  return spec.work_dir / "docker";
}
std::filesystem::path CertFile(const PlatformJobSpec& spec) {
  return spec.work_dir / "registry-ca.crt";
}
std::filesystem::path DigestFile(const PlatformJobSpec& spec) { return spec.work_dir / "digest"; }

bool TrustsPrivateCa(const PlatformJobSpec& spec) {
  return !spec.insecure_registry && !spec.registry_ca_file.empty();
}

// The registry part of "host[:port]/repository:tag".
std::string RegistryOf(const std::string& destination) {
  return destination.substr(0, destination.find('/'));
}

// hephyd's own environment (the Kaniko image sets SSL_CERT_DIR, PATH and
// the like for its executor), with DOCKER_CONFIG pointing at the job's
// credentials when it has some.
std::vector<std::string> ExecutorEnvironment(const PlatformJobSpec& spec) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (spec.registry_credentials && std::string_view(*entry).starts_with("DOCKER_CONFIG=")) {
      continue;
    }
    env.emplace_back(*entry);
  }
  if (spec.registry_credentials) env.push_back("DOCKER_CONFIG=" + DockerConfigDir(spec).string());
  return env;
}

// The digest Kaniko wrote, checked: a job never reports what it cannot
// stand behind.
std::string ReadDigest(const std::filesystem::path& file, std::string& error) {
  std::ifstream in(file);
  if (!in) {
    error = "the Kaniko executor wrote no digest to " + file.string();
    return "";
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  static const std::regex kDigest("sha256:[0-9a-f]{64}");
  if (!std::regex_match(text, kDigest)) {
    constexpr size_t kShown = 80;
    error = "the Kaniko executor's digest file " + file.string() + " holds '" +
            text.substr(0, kShown) + (text.size() > kShown ? "..." : "") + "', not a sha256 digest";
    return "";
  }
  return text;
}

class KanikoLocalJob : public PlatformJob {
 public:
  // `turn`: the lock jobs take to run one at a time, or null when they run
  // in parallel.
  KanikoLocalJob(const KanikoConfig& config, PlatformJobSpec spec, std::timed_mutex* turn)
      : config_(config), spec_(std::move(spec)), turn_(turn) {}

  PlatformJobResult Run(const std::function<void(std::string_view)>& on_line) override {
    // The credentials stay on disk only while the job runs (a job that never
    // runs leaves them in its work dir, which the build removes).
    const struct RemoveDockerConfig {
      const PlatformJobSpec& spec;
      ~RemoveDockerConfig() {
        std::error_code ec;
        std::filesystem::remove_all(DockerConfigDir(spec), ec);
      }
    } remove_docker_config{spec_};
    const auto deadline = std::chrono::steady_clock::now() + spec_.timeout;
    std::unique_lock<std::timed_mutex> turn;
    if (turn_ != nullptr) {
      turn = std::unique_lock(*turn_, std::defer_lock);
      if (auto gave_up = WaitForTurn(turn, deadline, cancel_)) return *gave_up;
    }

    KanikoLocation where{.context = "dir://" + spec_.context_dir.string(),
                         .digest_file = DigestFile(spec_).string(),
                         .registry_certificate = ""};
    if (TrustsPrivateCa(spec_)) where.registry_certificate = CertFile(spec_);
    std::vector<std::string> argv{config_.executor_path.string()};
    const auto args = KanikoArgs(spec_, where);
    argv.insert(argv.end(), args.begin(), args.end());

    PlatformJobResult result = RunJobProcess(
        {.argv = std::move(argv), .env = ExecutorEnvironment(spec_), .cwd = spec_.work_dir},
        deadline, cancel_, on_line);
    if (result.outcome == PlatformJobResult::Outcome::kFailed) {
      result.error = "the Kaniko executor (" + config_.executor_path.string() +
                     ") exited with status " + std::to_string(*result.exit_code);
    }
    if (result.outcome != PlatformJobResult::Outcome::kSucceeded) return result;
    result.digest = ReadDigest(DigestFile(spec_), result.error);
    if (result.digest.empty()) result.outcome = PlatformJobResult::Outcome::kFailed;
    return result;
  }

  void Cancel() override { cancel_.Cancel(); }

 private:
  KanikoConfig config_;
  PlatformJobSpec spec_;
  std::timed_mutex* turn_;
  JobCancel cancel_;
};

}  // namespace

std::unique_ptr<PlatformJob> KanikoLocalExecutor::Prepare(const PlatformJobSpec& spec) {
  // A copy of the job's own, as buildah's: a ca_file replaced while the
  // build runs does not change what its later jobs trust.
  if (TrustsPrivateCa(spec)) {
    std::error_code ec;
    std::filesystem::copy_file(spec.registry_ca_file, CertFile(spec),
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      throw Error("registry.ca_file " + spec.registry_ca_file.string() +
                  ": cannot copy it for Kaniko: " + ec.message());
    }
  }
  if (spec.registry_credentials) {
    std::filesystem::create_directories(DockerConfigDir(spec));
    std::filesystem::permissions(DockerConfigDir(spec), std::filesystem::perms::owner_all);
    WritePrivateFile(DockerConfigDir(spec) / "config.json",
                     AuthFileFor(RegistryOf(spec.destination), *spec.registry_credentials));
  }
  return std::make_unique<KanikoLocalJob>(config_, spec,
                                          config_.parallel ? nullptr : &one_at_a_time_);
}

int KanikoLocalExecutor::StopOrphans() { return KillGroupsWithArgumentUnder(builds_dir_); }

}  // namespace hephy
