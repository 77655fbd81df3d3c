// hephyd builds list | show
#include <algorithm>
#include <climits>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "commands/cli_commands.h"
#include "hephy/error.h"
#include "store/build_json.h"

namespace hephy {
namespace {

// Store times are UTC "YYYY-MM-DD HH:MM:SS".
std::optional<std::time_t> ParseUtc(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%d %H:%M:%S");
  if (in.fail()) return std::nullopt;
  return timegm(&tm);
}

// "42s", "3m07s", "1h02m03s".
std::string FormatDuration(long seconds) {
  char text[32];
  if (seconds < 60) {
    std::snprintf(text, sizeof text, "%lds", seconds);
  } else if (seconds < 3600) {
    std::snprintf(text, sizeof text, "%ldm%02lds", seconds / 60, seconds % 60);
  } else {
    std::snprintf(text, sizeof text, "%ldh%02ldm%02lds", seconds / 3600, seconds / 60 % 60,
                  seconds % 60);
  }
  return text;
}

// From start to finish, or to now while running; "-" before it started.
std::string Duration(const std::string& started_at, const std::string& finished_at) {
  const auto start = ParseUtc(started_at);
  if (!start) return "-";
  const auto end = finished_at.empty() ? std::time(nullptr) : ParseUtc(finished_at);
  if (!end) return "-";
  return FormatDuration(std::max<long>(0, static_cast<long>(*end - *start)));
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

// What the pusher calls the ref: "main" for refs/heads/main; tags and other refs in full.
std::string Branch(const std::string& ref) {
  return ref.starts_with("refs/heads/") ? ref.substr(11) : ref;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const auto app = args.Option("--app");
  const auto limit = args.Option("--limit");
  args.ExpectEnd();
  const int most =
      static_cast<int>(std::min<int64_t>(limit ? ParsePositive("--limit", *limit) : 50, INT_MAX));
  std::vector<Build> builds;
  if (app) {
    AppFor(ctx, *app, AppAccess::kRead, "read the builds of");
    builds = ctx.store.ListBuilds(app, most);
  } else if (IsAdmin(ctx)) {
    builds = ctx.store.ListBuilds(std::nullopt, most);
  } else {
    // The newest of the apps the caller may read.
    for (const auto& readable : ctx.store.ListApps()) {
      if (AccessTo(ctx, readable) < AppAccess::kRead) continue;
      for (auto& build : ctx.store.ListBuilds(readable.name, most)) builds.push_back(build);
    }
    std::sort(builds.begin(), builds.end(),
              [](const Build& a, const Build& b) { return a.id > b.id; });
    if (builds.size() > static_cast<size_t>(most)) builds.resize(most);
  }
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& b : builds) out.push_back(BuildToJson(b));
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : builds) {
    rows.push_back({std::to_string(b.id), b.app, b.unit, Branch(b.ref), b.new_sha.substr(0, 7),
                    b.status, OrDash(b.started_at), Duration(b.started_at, b.finished_at),
                    b.triggered_by, b.pusher});
  }
  PrintTable(ctx.io.out,
             {"ID", "APP", "UNIT", "BRANCH", "COMMIT", "STATUS", "STARTED", "DURATION", "TRIGGER",
              "PUSHER"},
             rows);
  return 0;
}

int Show(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  const int64_t id = ParsePositive("ID", args.Required("ID"));
  args.ExpectEnd();
  const auto build = ReadableBuild(ctx, id);
  if (json) {
    PrintJson(ctx.io.out, BuildToJson(build));
    return 0;
  }
  const Build& b = build;
  std::ostream& out = ctx.io.out;
  out << "build " << b.id << ": " << b.status << "\n"
      << "app:       " << b.app << "\n"
      << "unit:      " << b.unit << "\n"
      << "ref:       " << b.ref << "\n"
      << "commits:   " << b.old_sha << ".." << b.new_sha << "\n"
      << "pusher:    " << b.pusher
      << (b.key_fingerprint.empty() ? "" : " (key " + b.key_fingerprint + ")") << "\n"
      << "push:      " << OrDash(b.push_id) << "\n"
      << "trigger:   " << b.triggered_by << "\n"
      << "source:    " << (b.source_url.empty() ? "-" : b.source_url + " " + b.source_sha) << "\n"
      << "created:   " << b.created_at << "\n"
      << "started:   " << OrDash(b.started_at) << "\n"
      << "finished:  " << OrDash(b.finished_at) << "\n"
      << "duration:  " << Duration(b.started_at, b.finished_at) << "\n"
      << "error:     " << OrDash(b.error) << "\n"
      << "index:     " << OrDash(b.index_digest) << "\n"
      << "tags:      ";
  for (size_t i = 0; i < b.tags.size(); ++i) out << (i ? " " : "") << b.tags[i];
  out << (b.tags.empty() ? "-" : "") << "\n\n";

  std::vector<std::vector<std::string>> rows;
  for (const auto& j : b.jobs) {
    rows.push_back({j.platform, j.status, OrDash(j.tag), OrDash(j.digest),
                    j.exit_code ? std::to_string(*j.exit_code) : "-",
                    Duration(j.started_at, j.finished_at), j.log_path.string()});
  }
  PrintTable(out, {"PLATFORM", "STATUS", "TAG", "DIGEST", "EXIT", "DURATION", "LOG"}, rows);
  return 0;
}

}  // namespace

const std::vector<Command>& BuildsCommands() {
  static const std::vector<Command> commands = {
      {"builds", "list", "builds list [--app APP] [--limit N] [--json]",
       "Lists builds, newest first: ID, APP, UNIT, BRANCH (the ref without\n"
       "refs/heads/), COMMIT (the pushed commit, 7 characters), STATUS (queued,\n"
       "running, succeeded, failed, cancelled or interrupted), STARTED (UTC),\n"
       "DURATION (so far, while running), TRIGGER (push, schedule or manual) and\n"
       "PUSHER (who pushed, or who ran `hephyd rebuild`; hephyd for the schedule).\n"
       "\n"
       "  --app APP   only the builds of APP\n"
       "  --limit N   at most N builds (default 50)\n"
       "  --json      a JSON array of builds, each with every field and its jobs,\n"
       "              as `builds show --json` prints them",
       List},
      {"builds", "show", "builds show ID [--json]",
       "Shows build ID: status, app and unit, ref, old..new commit, pusher and key,\n"
       "push id, trigger, source (the upstream repository and commit of an\n"
       "upstream unit), times and duration, error, index digest and tags, then one line\n"
       "per platform job: platform, status, tag, digest, exit code, duration and\n"
       "log file. `hephyd logs ID` prints the logs.\n"
       "\n"
       "  --json   one JSON object: id, app, unit, ref, old_sha, new_sha, pusher,\n"
       "           key_fingerprint, push_id, triggered_by, source_url, source_sha,\n"
       "           status, error, index_digest, tags,\n"
       "           created_at, started_at, finished_at and jobs (id, platform,\n"
       "           status, tag, digest, exit_code, log_path, started_at,\n"
       "           finished_at); fields not set are null",
       Show},
  };
  return commands;
}

}  // namespace hephy
