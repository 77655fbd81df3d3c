#include "store/build_json.h"

namespace hephy {
namespace {

// Fields not set (yet) are null, as apps list does for an app without owner.
nlohmann::json NullIfEmpty(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

nlohmann::json JobToJson(const BuildJob& job) {
  return {{"id", job.id},
          {"platform", job.platform},
          {"status", job.status},
          {"tag", NullIfEmpty(job.tag)},
          {"digest", NullIfEmpty(job.digest)},
          {"exit_code", job.exit_code ? nlohmann::json(*job.exit_code) : nlohmann::json(nullptr)},
          {"log_path", job.log_path.string()},
          {"started_at", NullIfEmpty(job.started_at)},
          {"finished_at", NullIfEmpty(job.finished_at)}};
}

}  // namespace

nlohmann::json BuildToJson(const Build& build) {
  auto jobs = nlohmann::json::array();
  for (const auto& job : build.jobs) jobs.push_back(JobToJson(job));
  return {{"id", build.id},
          {"app", build.app},
          {"unit", build.unit},
          {"ref", build.ref},
          {"old_sha", build.old_sha},
          {"new_sha", build.new_sha},
          {"pusher", build.pusher},
          {"key_fingerprint", NullIfEmpty(build.key_fingerprint)},
          {"push_id", NullIfEmpty(build.push_id)},
          {"triggered_by", build.triggered_by},
          {"source_url", NullIfEmpty(build.source_url)},
          {"source_sha", NullIfEmpty(build.source_sha)},
          {"status", build.status},
          {"error", NullIfEmpty(build.error)},
          {"index_digest", NullIfEmpty(build.index_digest)},
          {"tags", build.tags},
          {"created_at", build.created_at},
          {"started_at", NullIfEmpty(build.started_at)},
          {"finished_at", NullIfEmpty(build.finished_at)},
          {"jobs", jobs}};
}

}  // namespace hephy
