#include "build/build_planner.h"

#include <algorithm>
#include <set>

#include "build/build_units.h"
#include "build/change_detection.h"
#include "build/dockerfile_fetches.h"
#include "build/dockerfile_platforms.h"
#include "build/image_tags.h"
#include "build/rebuild_schedule.h"
#include "build/unit_order.h"
#include "executors/host_platforms.h"
#include "git/commit_reader.h"
#include "git/quarantine_repo.h"
#include "hephy/error.h"
#include "net/egress_policy.h"

namespace hephy {
namespace {

const std::string kZeroId(40, '0');

std::string Join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string BranchOf(const std::string& ref) {
  return ref.starts_with("refs/heads/") ? ref.substr(11) : ref;
}

bool Contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string ConfigFileOf(const BuildUnit& unit) {
  return unit.dir.empty() ? kBuildConfigFile : unit.dir + "/" + kBuildConfigFile;
}

// The platforms a unit builds for on this push: its own or the daemon's,
// narrowed by -o platforms=.
std::vector<std::string> PlatformsOf(const BuildUnit& unit, const Config& config,
                                     const PushOptions& options) {
  std::vector<std::string> platforms =
      unit.config.platforms.empty() ? config.builder.platforms : unit.config.platforms;
  if (options.only_platforms.empty()) return platforms;
  std::erase_if(platforms, [&](const auto& p) { return !Contains(options.only_platforms, p); });
  return platforms;
}

// Adds the units a Dockerfile builds FROM to those `entry` depends on. A
// unit FROM its own earlier image pulls that image; it waits for nothing.
void AddDetected(UnitDependencies& entry, const std::vector<std::string>& from_units) {
  for (const auto& unit : from_units) {
    if (unit != entry.unit && !Contains(entry.depends_on, unit)) entry.depends_on.push_back(unit);
  }
}

// buildah fetches from "localhost" and loopback addresses itself, never
// through its job's egress proxy (net/egress_proxy.h): a Dockerfile may name
// such a host only where the policy allows it, the registry aside. Names
// other than localhost are the proxy's to check, when they are fetched.
void CheckDirectFetches(const std::string& file, std::string_view dockerfile,
                        const std::vector<std::string>& build_args, const EgressPolicy& policy,
                        const std::string& registry, std::vector<std::string>& problems) {
  for (const auto& fetch : DockerfileFetches(dockerfile, build_args)) {
    const std::string where = file + ":" + std::to_string(fetch.line) + ": " + fetch.what + ": ";
    if (fetch.host.empty()) {
      problems.push_back(where + "the URL names no host");
      continue;
    }
    if (NormalizedHostName(fetch.authority) == NormalizedHostName(registry)) continue;
    bool address = true;
    try {
      SocketAddress::Parse(fetch.host);
    } catch (const Error&) {
      address = false;
    }
    if (!address && NormalizedHostName(fetch.host) != "localhost") continue;
    try {
      policy.Resolve(fetch.host, "80");
    } catch (const Error& e) {
      problems.push_back(where + e.what());
    }
  }
}

// What one unit of the plan builds from, once its source is known.
struct Source {
  ContextSource context;
  std::string dockerfile_text;
  std::chrono::system_clock::time_point time;
  std::string url, sha;  // upstream units only
};

}  // namespace

Plan BuildPlanner::Make(const PlanRequest& request, const Say& say, std::stop_token cancel) const {
  Plan plan;
  auto& problems = plan.problems;
  const NewBuild& base = request.build;
  const std::string where = BranchOf(base.ref) + " (" + base.new_sha.substr(0, 7) + ")";
  const QuarantineRepo repo(request.repo, request.env);
  const CommitReader commit(repo.get(), base.new_sha);

  const std::vector<BuildUnit> units = FindUnits(commit, base.app, problems);
  if (units.empty() && problems.empty()) {
    problems.push_back("nothing to build on " + where +
                       ": there is no Dockerfile at the repository's root and no " +
                       kBuildConfigFile + " in any directory");
  }
  std::vector<std::string> names;
  for (const auto& unit : units) names.push_back(unit.name);
  const auto unit_named = [&](const std::string& name) -> const BuildUnit& {
    return *std::find_if(units.begin(), units.end(), [&](const auto& u) { return u.name == name; });
  };
  const auto check_named = [&](const std::vector<std::string>& asked, const std::string& what) {
    for (const auto& name : asked) {
      if (!Contains(names, name)) {
        problems.push_back(what + ": no unit '" + name + "' on " + where +
                           " (units: " + Join(names) + ")");
      }
    }
  };
  // A unit may take network away from its RUN steps, never add to it: the
  // admin's builder.network is what every pusher is trusted with.
  for (const auto& unit : units) {
    const auto wanted = unit.config.network;
    if (wanted && *wanted > config_.builder.network) {
      problems.push_back(ConfigFileOf(unit) +
                         ": network: " + std::string(NetworkModeName(*wanted)) +
                         " is looser than builder.network (" +
                         std::string(NetworkModeName(config_.builder.network)) +
                         "); a unit may only make it stricter");
    }
  }
  check_named(request.options.rebuild_units, "push option 'rebuild'");
  if (request.select == PlanRequest::Select::kNamed) check_named(request.units, "rebuild");

  // A broken rebuild list is said on the push that breaks it, not weeks
  // later by the scheduler.
  std::vector<std::string> listed;
  if (const auto text = commit.ReadFile(kRebuildListFile)) {
    for (const auto& entry : ParseRebuildList(*text, kRebuildListFile, problems)) {
      if (Contains(names, entry.unit)) {
        listed.push_back(entry.unit);
      } else {
        problems.push_back(std::string(kRebuildListFile) + ":" + std::to_string(entry.line) +
                           ": no unit '" + entry.unit + "' (units: " + Join(names) + ")");
      }
    }
  }
  if (!problems.empty()) return plan;

  // What each unit depends on: depends_on, and the units its Dockerfile
  // builds FROM (upstream Dockerfiles are read once fetched, below).
  const std::string repository = RepositoryFor(config_.registry.repository, base.app);
  std::map<std::string, Source> sources;
  std::vector<UnitDependencies> dependencies;
  for (const auto& unit : units) {
    auto& entry = dependencies.emplace_back(UnitDependencies{unit.name, unit.config.depends_on});
    if (unit.upstream()) continue;
    Source& source = sources[unit.name];
    source.context = {request.repo, request.env, base.new_sha, unit.ContextDir()};
    source.dockerfile_text = commit.ReadFile(unit.DockerfilePath()).value_or("");
    source.time = commit.Time();
    AddDetected(entry,
                UnitsInDockerfile(source.dockerfile_text, config_.registry.url, repository, names));
  }

  std::set<std::string> selected;
  std::string why;
  const bool new_branch = base.old_sha == kZeroId;
  switch (request.select) {
    case PlanRequest::Select::kChanged:
      if (new_branch || request.options.rebuild_all) {
        selected.insert(names.begin(), names.end());
        why = new_branch ? "a new branch builds every unit" : "rebuild=all";
        break;
      }
      {
        const auto paths = ChangedPaths(repo.get(), base.old_sha, base.new_sha);
        for (const auto& unit : units) {
          if (UnitChanged(unit, paths)) selected.insert(unit.name);
        }
      }
      selected.insert(request.options.rebuild_units.begin(), request.options.rebuild_units.end());
      why = request.options.rebuild_units.empty() ? "changed" : "changed or named by rebuild=";
      break;
    case PlanRequest::Select::kAll:
      selected.insert(names.begin(), names.end());
      why = "every unit";
      break;
    case PlanRequest::Select::kNamed:
      selected.insert(request.units.begin(), request.units.end());
      why = "named";
      break;
    case PlanRequest::Select::kListed:
      selected.insert(listed.begin(), listed.end());
      why = std::string("listed in ") + kRebuildListFile;
      break;
  }
  // Dependents of what builds build too.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& entry : dependencies) {
      if (selected.contains(entry.unit)) continue;
      if (std::any_of(entry.depends_on.begin(), entry.depends_on.end(),
                      [&](const auto& d) { return selected.contains(d); })) {
        selected.insert(entry.unit);
        grew = true;
      }
    }
  }
  if (selected.empty()) {
    say("hephy: " +
        (request.select == PlanRequest::Select::kListed
             ? std::string("no unit is listed in ") + kRebuildListFile + " on " + where
             : "no unit changed on " + where) +
        " (units: " + Join(names) + "); nothing needed building");
    return plan;
  }

  std::map<std::pair<std::string, std::string>, UpstreamCache::Resolved> resolved_refs;
  for (const auto& name : names) {
    const BuildUnit& unit = unit_named(name);
    if (!selected.contains(name) || !unit.upstream()) continue;
    const std::string file = ConfigFileOf(unit);
    try {
      // Units naming the same upstream and ref share one fetch.
      const auto key = std::make_pair(unit.config.upstream_repo, unit.config.upstream_ref);
      auto known = resolved_refs.find(key);
      if (known == resolved_refs.end()) {
        const auto progress = [&](const std::string& line) { say("hephy: " + name + ": " + line); };
        known = resolved_refs
                    .emplace(key, upstreams_.Resolve(unit.config.upstream_repo,
                                                     unit.config.upstream_ref, progress, cancel))
                    .first;
      }
      const UpstreamCache::Resolved& resolved = known->second;
      const QuarantineRepo mirror(resolved.mirror, {});
      const CommitReader upstream(mirror.get(), resolved.commit);
      Source& source = sources[name];
      source.context = {resolved.mirror, {}, resolved.commit, unit.ContextDir()};
      source.time = upstream.Time();
      source.url = resolved.display_url;
      source.sha = resolved.commit;
      if (!upstream.HasDirectory(unit.ContextDir())) {
        problems.push_back(file + ": context_path: '" + unit.config.context_path +
                           "' is not a directory of " + source.url + " at " +
                           unit.config.upstream_ref);
        continue;
      }
      const auto text = upstream.ReadFile(unit.DockerfilePath());
      if (!text) {
        problems.push_back(file + ": dockerfile_path: '" + unit.DockerfilePath() +
                           "' is not a file of " + source.url + " at " + unit.config.upstream_ref);
        continue;
      }
      source.dockerfile_text = *text;
      auto& entry = *std::find_if(dependencies.begin(), dependencies.end(),
                                  [&](const auto& d) { return d.unit == name; });
      AddDetected(entry, UnitsInDockerfile(*text, config_.registry.url, repository, names));
    } catch (const Error& e) {
      problems.push_back(file + ": upstream_repo: " + e.what());
    }
  }
  const std::vector<std::string> order = OrderUnits(dependencies, problems);
  if (!problems.empty()) return plan;

  std::vector<std::string> building;
  std::map<std::string, std::vector<std::string>> platforms;
  for (const auto& name : order) {
    if (!selected.contains(name)) continue;
    platforms[name] = PlatformsOf(unit_named(name), config_, request.options);
    if (platforms[name].empty()) {
      say("hephy: " + name + " skipped: it builds for none of " +
          Join(request.options.only_platforms) + " (-o platforms)");
      selected.erase(name);
      continue;
    }
    building.push_back(name);
  }
  // Checked before anything builds, naming every offending line at once:
  // RUN steps this host cannot run, and hosts buildah would fetch from
  // without its egress proxy.
  const bool local = RunsOnThisHost(config_);
  const HostPlatforms host = local ? HostPlatforms::Detect() : HostPlatforms{};
  const EgressPolicy egress(config_.upstreams.allow_hosts);
  std::map<std::string, std::set<std::string>> emulated;
  for (const auto& name : building) {
    const BuildUnit& unit = unit_named(name);
    const Source& source = sources.at(name);
    const std::string file = (source.url.empty() ? "" : source.url + ": ") + unit.DockerfilePath();
    for (const auto& platform : platforms.at(name)) {
      for (const auto& [runs, line] :
           RunPlatforms(source.dockerfile_text, BuildPlatformFor(config_, platform), platform,
                        unit.config.target)) {
        const PlatformRun run = local ? host.RunOf(runs) : PlatformRun::kNative;
        if (run == PlatformRun::kEmulated) emulated[name].insert(platform);
        if (run != PlatformRun::kUnavailable) continue;
        const std::string problem = file + ":" + std::to_string(line) + ": RUN steps for " + runs +
                                    ", which this " + host.native_arch + " host cannot run (" +
                                    host.WhyNot(runs) + "): " + WaysToRun(runs);
        if (!Contains(problems, problem)) problems.push_back(problem);
      }
    }
    if (config_.builder.executor == "buildah" &&
        unit.config.network.value_or(config_.builder.network) != NetworkMode::kHost) {
      CheckDirectFetches(file, source.dockerfile_text, unit.config.build_args, egress,
                         config_.registry.url, problems);
    }
  }
  if (!problems.empty()) return plan;
  if (building.empty()) {
    say("hephy: no unit of " + where + " builds for " + Join(request.options.only_platforms) +
        "; nothing was built");
    return plan;
  }
  say("hephy: " + where + ": building " + Join(building) + " (" + why + "; " +
      std::to_string(building.size()) + " of " + std::to_string(names.size()) + " units)");

  const auto waits = WaitsFor(dependencies, selected);
  for (const auto& name : building) {
    const BuildUnit& unit = unit_named(name);
    const Source& source = sources.at(name);
    BuildPlan& build = plan.builds.emplace_back();
    build.build = base;
    build.build.unit = name;
    build.build.platforms = platforms.at(name);
    build.build.source_url = source.url;
    build.build.source_sha = source.sha;
    build.context = source.context;
    build.dockerfile = NormalTreePath(unit.config.dockerfile_path);
    build.target = unit.config.target;
    build.network = unit.config.network.value_or(config_.builder.network);
    build.no_cache = request.options.no_cache;
    build.build_args = unit.config.build_args;
    build.emulated = emulated[name];
    build.declared_args = DeclaredArgs(source.dockerfile_text);
    // Tools that honour SOURCE_DATE_EPOCH date what they make by the commit,
    // so that the same commit builds the same image. Only a Dockerfile that
    // declares it gets it: buildah warns of a build arg nothing consumes.
    if (build.declared_args.contains("SOURCE_DATE_EPOCH") &&
        std::none_of(build.build_args.begin(), build.build_args.end(),
                     [](const auto& arg) { return arg.starts_with("SOURCE_DATE_EPOCH="); })) {
      build.build_args.push_back("SOURCE_DATE_EPOCH=" +
                                 std::to_string(std::chrono::system_clock::to_time_t(source.time)));
    }
    build.additional_tags = unit.config.additional_tags;
    const auto waiting = waits.find(name);
    if (waiting == waits.end()) continue;
    for (const auto& dependency : waiting->second) {
      auto& images = build.waits_for[dependency];
      for (const auto& from : ParseFromLines(source.dockerfile_text)) {
        if (UnitOfImage(from.image, config_.registry.url, repository, names) == dependency &&
            !Contains(images, from.image)) {
          images.push_back(from.image);
        }
      }
    }
  }
  return plan;
}

}  // namespace hephy
