#include "build/pruner.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include "build/image_tags.h"
#include "build/retention.h"
#include "hephy/error.h"
#include "hephy/registry_client.h"
#include "hephy/store.h"
#include "registry/embedded_registry.h"
#include "registry/registry_access.h"
#include "registry/registry_token_authority.h"
#include "store/build_logs.h"
#include "util/disk_space.h"
#include "util/logging.h"

namespace hephy {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("prune");
  return logger;
}

// How long the garbage collection waits for a moment when no build runs
// before it holds new builds off to make one.
constexpr std::chrono::minutes kHoldPatience{10};

// SQLite's datetime('now'): "YYYY-MM-DD HH:MM:SS", UTC.
std::chrono::system_clock::time_point ParseStoreTime(const std::string& text) {
  std::tm utc{};
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &utc.tm_year, &utc.tm_mon, &utc.tm_mday,
                  &utc.tm_hour, &utc.tm_min, &utc.tm_sec) != 6) {
    return std::chrono::system_clock::now();  // unreadable: taken as new, so kept
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&utc));
}

// The bytes of the regular files under `path` (or of `path` itself).
uint64_t BytesUnder(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return std::filesystem::file_size(path, ec);
  uint64_t bytes = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec) && !it->is_symlink(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) bytes += size;
    }
  }
  return bytes;
}

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The manifests an index (or manifest list) names; none for an image manifest.
std::vector<std::string> ChildrenOf(const RegistryClient::Manifest& manifest) {
  std::vector<std::string> children;
  const auto body = nlohmann::json::parse(manifest.body, nullptr, false);
  if (!body.is_object() || !body.contains("manifests") || !body["manifests"].is_array()) {
    return children;
  }
  for (const auto& entry : body["manifests"]) {
    if (entry.is_object() && entry.contains("digest") && entry["digest"].is_string()) {
      children.push_back(entry["digest"].get<std::string>());
    }
  }
  return children;
}

std::string CreatedOf(const RegistryClient::Manifest& manifest) {
  const auto body = nlohmann::json::parse(manifest.body, nullptr, false);
  if (!body.is_object() || !body.contains("annotations")) return "";
  const auto& created =
      body["annotations"].value("org.opencontainers.image.created", nlohmann::json());
  return created.is_string() ? created.get<std::string>() : "";
}

}  // namespace

std::string PruneReport::Summary() const {
  std::string text = Plural(builds, "build", "builds") + " (" + FormatBytes(log_bytes) +
                     " of logs), " +
                     Plural(scratch_dirs, "scratch directory", "scratch directories") + " (" +
                     FormatBytes(scratch_bytes) + "), " + Plural(images, "image", "images") + " (" +
                     Plural(manifests, "manifest", "manifests") + ")";
  if (collected) text += ", registry storage " + FormatBytes(registry_bytes);
  return text;
}

nlohmann::json PruneReport::ToJson() const {
  return {{"dry_run", dry_run},
          {"builds", builds},
          {"log_bytes", log_bytes},
          {"scratch_dirs", scratch_dirs},
          {"scratch_bytes", scratch_bytes},
          {"images", images},
          {"manifests", manifests},
          {"registry_collected", collected},
          {"registry_bytes", registry_bytes},
          {"problems", problems}};
}

Pruner::Pruner(const Config& config, BuildScheduler& scheduler,
               const RegistryTokenAuthority* tokens, EmbeddedRegistry* registry)
    : config_(config), scheduler_(scheduler), tokens_(tokens), registry_(registry) {}

PruneReport Pruner::Run(bool dry_run, const std::string& actor, const std::string& remote,
                        const Say& say, std::stop_token stop) {
  const std::lock_guard one_at_a_time(running_);
  const auto started = std::chrono::steady_clock::now();
  PruneReport report;
  report.dry_run = dry_run;
  PruneBuilds(report, say);
  PruneScratch(report, say);
  if (!stop.stop_requested()) PruneImages(report, say, stop);
  if (!stop.stop_requested()) CollectGarbage(report, say, stop);
  say((dry_run ? "would prune " : "pruned ") + report.Summary() +
      (report.problems == 0 ? "" : "; " + Plural(report.problems, "problem", "problems")));
  if (!dry_run) {
    Store store(config_.DatabasePath());
    store.Audit(
        {actor, "prune", "",
         report.Summary() +
             (report.problems == 0 ? "" : "; " + Plural(report.problems, "problem", "problems")),
         remote});
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  Log()->info("{} by {} in {:.1f} s: {}", dry_run ? "dry run" : "prune", actor, took.count(),
              report.Summary());
  return report;
}

int Pruner::Answer(const PushRequest& request, const Say& say, std::stop_token stop) {
  const auto has = [&](const std::string& option) {
    return std::find(request.options.begin(), request.options.end(), option) !=
           request.options.end();
  };
  std::string remote;
  for (const auto& option : request.options) {
    if (option.starts_with("remote=")) remote = option.substr(7);
  }
  const bool json = has("json");
  auto lines = nlohmann::json::array();
  const Say collect = [&](const std::string& line) {
    if (json) {
      lines.push_back(line);
    } else {
      say(line);
    }
  };
  PruneReport report;
  try {
    report = Run(has("dry-run"), request.user, remote, collect, stop);
  } catch (const std::exception& e) {
    say(std::string("prune failed: ") + e.what());
    return 1;
  }
  if (json) {
    nlohmann::json out = report.ToJson();
    out["lines"] = std::move(lines);
    // Line by line: one line of the socket's protocol holds at most 64 KiB.
    const std::string text = out.dump(2);
    for (size_t at = 0; at < text.size();) {
      const size_t end = std::min(text.find('\n', at), text.size());
      say(text.substr(at, end - at));
      at = end + 1;
    }
  }
  return report.problems == 0 ? 0 : 1;
}

void Pruner::PruneBuilds(PruneReport& report, const Say& say) {
  Store store(config_.DatabasePath());
  std::vector<BuildRecordAge> ages;
  std::map<int64_t, const BuildAge*> by_id;
  const std::vector<BuildAge> stored = store.ListBuildAges();
  for (const auto& build : stored) {
    ages.push_back({build.id, build.app, build.status, ParseStoreTime(build.created_at)});
    by_id[build.id] = &build;
  }
  const auto expired = ExpiredBuilds(ages, config_.retention, std::chrono::system_clock::now());
  const auto deleted = report.dry_run ? expired : store.DeleteFinishedBuilds(expired);
  for (const int64_t id : deleted) {
    const BuildAge& build = *by_id.at(id);
    const auto dir = BuildLogDir(config_.LogsDir(), id);
    const uint64_t bytes = BytesUnder(dir);
    std::error_code ec;
    if (!report.dry_run) std::filesystem::remove_all(dir, ec);
    report.builds++;
    report.log_bytes += bytes;
    if (ec) {
      report.problems++;
      say("build " + std::to_string(id) + ": record deleted, but not its logs " + dir.string() +
          ": " + ec.message());
      continue;
    }
    say(std::string(report.dry_run ? "would delete" : "deleted") + " build " + std::to_string(id) +
        " (" + build.app + ", " + build.status + ", " + build.created_at + " UTC) and its logs (" +
        FormatBytes(bytes) + ")");
  }
}

void Pruner::PruneScratch(PruneReport& report, const Say& say) {
  // Directories first, then the builds: a build creating its directory
  // after the listing is not in it, and one listed is recorded by then.
  const auto listed = [](const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> entries;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      entries.push_back(entry.path());
    }
    return entries;
  };
  const auto scratch = listed(config_.BuildsDir());
  const auto logs = listed(config_.LogsDir());
  std::map<int64_t, std::string> status;
  {
    Store store(config_.DatabasePath());
    for (const auto& build : store.ListBuildAges()) status[build.id] = build.status;
  }
  const auto build_of = [](const std::filesystem::path& path) -> std::optional<int64_t> {
    const std::string name = path.filename().string();
    if (name.empty() || name.size() > 18 ||
        name.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return std::stoll(name);
  };
  const auto drop = [&](const std::filesystem::path& path, const std::string& what,
                        bool scratch_dir) {
    const uint64_t bytes = BytesUnder(path);
    std::error_code ec;
    if (!report.dry_run) std::filesystem::remove_all(path, ec);
    if (ec) {
      report.problems++;
      say("cannot remove " + what + " " + path.string() + ": " + ec.message());
      return;
    }
    if (scratch_dir) {
      report.scratch_dirs++;
      report.scratch_bytes += bytes;
    } else {
      report.log_bytes += bytes;
    }
    say(std::string(report.dry_run ? "would remove " : "removed ") + what + " " + path.string() +
        " (" + FormatBytes(bytes) + ")");
  };
  for (const auto& path : scratch) {
    const auto id = build_of(path);
    // A queued or running build's own; anything else was left by a build
    // that ended, or by a hephyd that crashed.
    if (id && status.contains(*id) && !IsTerminalBuildStatus(status[*id])) continue;
    drop(path,
         id && status.contains(*id) ? "scratch directory of " + status[*id] + " build"
                                    : "stray scratch directory",
         true);
  }
  for (const auto& path : logs) {
    const auto id = build_of(path);
    if (!id || status.contains(*id)) continue;
    drop(path, "logs of a build no longer recorded,", false);
  }
}

void Pruner::PruneImages(PruneReport& report, const Say& say, std::stop_token stop) {
  if (config_.retention.images_keep == 0) return;
  std::set<std::string> repositories;
  std::map<std::string, int64_t> builds_of_tags;
  {
    Store store(config_.DatabasePath());
    builds_of_tags = store.NewestBuildOfTags();
    for (const auto& app : store.ListApps()) {
      repositories.insert(RepositoryFor(config_.registry.repository, app.name));
    }
  }
  if (repositories.empty()) return;
  std::optional<RegistryClient> client;
  try {
    const RegistryAccess access =
        tokens_ != nullptr
            ? RegistryAccess{tokens_->service_credentials(), "hephyd's own credentials"}
            : ResolveRegistryAccess(config_.registry);
    client.emplace(ClientOptions(config_.registry, access));
  } catch (const Error& e) {
    report.problems++;
    say(std::string("images: ") + e.what());
    return;
  }
  for (const auto& repository : repositories) {
    if (stop.stop_requested()) return;
    try {
      const std::vector<std::string> tags = client->ListTags(repository);
      std::set<std::string> arch;
      std::vector<DatedImage> images;
      for (const auto& tag : tags) {
        const auto dated = ParseDatedTag(tag);
        if (!dated) continue;
        const auto manifest = client->GetManifest(repository, tag);
        const auto build = builds_of_tags.find(tag);
        DatedImage image{tag,
                         dated->unit,
                         dated->date,
                         CreatedOf(manifest),
                         build == builds_of_tags.end() ? 0 : build->second,
                         manifest.digest,
                         ChildrenOf(manifest),
                         {}};
        for (const auto& arch_tag : ArchTagsOf(tag, tags)) {
          arch.insert(arch_tag);
          if (const auto digest = client->HeadManifest(repository, arch_tag)) {
            image.arch_tags[arch_tag] = *digest;
          }
        }
        images.push_back(std::move(image));
      }
      // Every other tag (latest, versions) keeps what it names.
      std::set<std::string> referenced;
      std::map<std::string, std::string> named_by;  // digest -> an additional tag
      for (const auto& tag : tags) {
        if (ParseDatedTag(tag) || arch.contains(tag)) continue;
        const auto manifest = client->GetManifest(repository, tag);
        referenced.insert(manifest.digest);
        named_by.emplace(manifest.digest, tag);
        for (const auto& child : ChildrenOf(manifest)) referenced.insert(child);
      }
      const ImageSelection selection =
          ExpiredImages(images, referenced, config_.retention.images_keep);
      for (const auto& tag : selection.kept_referenced) {
        const auto image = std::find_if(images.begin(), images.end(),
                                        [&](const DatedImage& i) { return i.tag == tag; });
        const auto name = named_by.find(image->digest);
        say("kept image " + repository + ":" + tag + " beyond retention.images_keep: " +
            (name != named_by.end() ? "tag " + name->second + " names it"
                                    : "a kept image shares its index"));
      }
      for (const auto& removal : selection.remove) {
        if (stop.stop_requested()) return;
        std::optional<std::string> refused;
        for (const auto& digest : removal.digests) {
          if (report.dry_run) break;
          refused = client->DeleteManifest(repository, digest);
          if (refused) break;
        }
        if (refused) {
          say("registry " + config_.registry.url + " refuses to delete manifests (" + *refused +
              "): the images of " + repository +
              " are left; enable deletes in the registry (docker-registry: storage.delete.enabled)"
              " or prune them with its own tools");
          break;
        }
        report.images++;
        report.manifests += static_cast<int>(removal.digests.size());
        say(std::string(report.dry_run ? "would delete" : "deleted") + " image " + repository +
            ":" + removal.tag + " (" +
            Plural(static_cast<int64_t>(removal.digests.size()), "manifest", "manifests") + ")");
      }
    } catch (const Error& e) {
      report.problems++;
      say(std::string("images of ") + repository + ": " + e.what());
    }
  }
}

void Pruner::CollectGarbage(PruneReport& report, const Say& say, std::stop_token stop) {
  if (registry_ == nullptr || report.manifests == 0) return;
  if (report.dry_run) {
    say("would collect the embedded registry's garbage (its unreferenced blobs)");
    return;
  }
  // The registry stops while the collector runs; a push meanwhile would
  // fail, so builds are held off until it answers again.
  say("collecting the embedded registry's garbage once no build runs (new builds wait after "
      "10 minutes, and while it collects)");
  const auto hold = scheduler_.HoldBuilds(stop, kHoldPatience);
  if (!hold) return;
  try {
    const auto collected = registry_->CollectGarbage();
    report.collected = true;
    report.registry_bytes =
        collected.bytes_before - std::min(collected.bytes_before, collected.bytes_after);
    say("collected the embedded registry's garbage: " + FormatBytes(report.registry_bytes) +
        " freed, " + FormatBytes(collected.bytes_after) + " left");
  } catch (const Error& e) {
    report.problems++;
    say(e.what());
  }
}

}  // namespace hephy
