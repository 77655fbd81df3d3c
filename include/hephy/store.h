// The daemon's state in SQLite (WAL): users, SSH keys, apps and their members,
// the audit log, and builds with their per-platform jobs. The schema comes only
// from migrations/NNNN_*.sql.
//
// A Store is one connection: not thread-safe; give each thread its own. Many
// connections to one file are fine (WAL, busy timeout). Transactions that
// write begin IMMEDIATE: a deferred one that read first cannot wait for the
// write lock, and fails at once with "database is locked" when another
// connection wrote meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hephy/ssh_key.h"

namespace SQLite {
class Database;
}

namespace hephy {

struct User {
  int64_t id = 0;
  std::string name;
  bool admin = false;
  std::string created_at;  // UTC, "YYYY-MM-DD HH:MM:SS"
};

struct StoredKey {
  int64_t id = 0;
  std::string user;
  PublicKey key;
  std::string created_at;
};

struct App {
  int64_t id = 0;
  std::string name;
  std::optional<std::string> owner;  // none: managed by admins only
  std::string created_at;
};

struct Member {
  std::string user;
  std::string access;  // "read" or "write"
  std::string created_at;
};

// An SSH key bound to one app, for CI jobs: it may fetch from (read) or also
// push to (write) that app and nothing else.
struct DeployKey {
  int64_t id = 0;
  std::string app;
  std::string access;  // "read" or "write"
  PublicKey key;
  std::string added_by;  // who added it: a user name, or "cli"
  std::string created_at;
};

struct AuditEntry {
  std::string actor;   // user name, or "cli" for the host's command line
  std::string action;  // e.g. "users.add", "push"
  std::string target;  // e.g. user or app name
  std::string detail;  // free text: result, refs, fingerprint
  std::string remote;  // the client's address ("127.0.0.1:53422"), empty for the CLI
  // Set by the store: the entry's number, in the order written, and when it
  // was written (UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ").
  int64_t id = 0;
  std::string at;
};

// An API token of the HTTP API, or a deploy token: git over HTTP(S) for one
// app, read or write, the HTTPS counterpart of a deploy key. The token itself
// is not stored, only its SHA-256 (daemon/api/api_tokens.h).
struct ApiToken {
  int64_t id = 0;
  std::string user;    // whose token it is; "" for a deploy token
  std::string app;     // a deploy token's app; "" for a user's token
  std::string access;  // a deploy token's "read" or "write"; "" for a user's token
  std::string name;    // "" when none was given
  std::string created_at;
  std::string last_used_at;  // "" until first used
};

// A build of one unit of an app for one push (or rebuild), and its jobs, one
// per platform. Both go queued -> running -> one terminal status:
// succeeded, failed, cancelled or interrupted (hephyd stopped meanwhile).
// Times are UTC "YYYY-MM-DD HH:MM:SS".
struct BuildJob {
  int64_t id = 0;
  std::string platform;  // "linux/arm64"
  std::string status;    // queued|running|succeeded|failed|cancelled|interrupted
  std::string tag;       // per-architecture tag, once known
  std::string digest;    // image manifest digest, once pushed
  std::optional<int> exit_code;
  std::filesystem::path log_path;       // full log of this job
  std::string started_at, finished_at;  // empty until set
};

struct Build {
  int64_t id = 0;
  std::string app, unit, ref, old_sha, new_sha, pusher, key_fingerprint, push_id;
  std::string triggered_by;            // push|schedule|manual|cli
  std::string source_url, source_sha;  // an upstream unit's repository and commit
  std::string status;
  std::string error;              // why it failed, was cancelled or interrupted
  std::string index_digest;       // set when succeeded
  std::vector<std::string> tags;  // index tags
  std::string created_at, started_at, finished_at;
  std::vector<BuildJob> jobs;  // in platform order as created
};

// What retention needs of a build (daemon/build/retention.h).
struct BuildAge {
  int64_t id = 0;
  std::string app, status;
  std::string created_at;  // UTC, "YYYY-MM-DD HH:MM:SS"
};

struct NewBuild {
  std::string app, unit, ref, old_sha, new_sha, pusher, key_fingerprint, push_id;
  std::string triggered_by = "push";   // push|schedule|manual|cli
  std::string source_url, source_sha;  // set for upstream units, without credentials
  std::vector<std::string> platforms;
};

// True for the statuses a build or job ends in: succeeded, failed, cancelled,
// interrupted. False for queued, running and unknown strings.
bool IsTerminalBuildStatus(std::string_view status);

class Store {
 public:
  // Opens (creating if needed) the database at `path`. Does not migrate.
  explicit Store(const std::filesystem::path& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies the migrations compiled into this binary that the database lacks,
  // each in its own transaction. Returns how many were applied. Throws Error
  // when the database has a migration this binary does not know, or one whose
  // text differs from the file it was applied from.
  int Migrate();

  // Users. Names follow ValidateUserName. Add throws Error when the name is
  // taken; Remove when it is unknown. Removing a user removes their keys and
  // memberships; the apps they owned are left to admins. Returns those apps.
  User AddUser(const std::string& name, bool admin);
  std::vector<User> ListUsers();
  std::optional<User> FindUser(const std::string& name);
  std::vector<std::string> RemoveUser(const std::string& name);

  // SSH keys. Adds all of `keys` or, when one is already registered (or
  // appears twice), none: throws Error naming the key and its holder.
  void AddKeys(const std::string& user, const std::vector<PublicKey>& keys);
  std::vector<StoredKey> ListKeys(const std::optional<std::string>& user);
  // Removes a user's key or a deploy key; throws Error when neither has it.
  void RemoveKey(const std::string& fingerprint);
  // The user's key with this fingerprint, if it is one.
  std::optional<StoredKey> FindKey(const std::string& fingerprint);
  // The user a key (by fingerprint) belongs to: the authentication check.
  std::optional<User> FindUserByKey(const std::string& fingerprint);

  // Apps. CreateApp throws Error when the name is taken or the owner unknown.
  App CreateApp(const std::string& name, const std::optional<std::string>& owner);
  std::vector<App> ListApps();
  std::optional<App> FindApp(const std::string& name);
  // "read" or "write" when `user` is a member of `app`.
  std::optional<std::string> MemberAccess(const std::string& app, const std::string& user);

  // Removes the app, its members, deploy keys and build records (the
  // repository on disk is the caller's). Throws Error when it is unknown.
  void DeleteApp(const std::string& name);

  // Members (store_access.cc). SetMember adds `user` to `app` with `access`
  // ("read" or "write"), or changes their access; RemoveMember returns false
  // when they were not a member. Unknown apps and users throw Error.
  void SetMember(const std::string& app, const std::string& user, const std::string& access);
  bool RemoveMember(const std::string& app, const std::string& user);
  std::vector<Member> ListMembers(const std::string& app);

  // Deploy keys (store_access.cc). Adds all of `keys` to `app` or, when one
  // is already registered (as a user's key or a deploy key) or appears
  // twice, none: throws Error naming the key and its holder.
  std::vector<DeployKey> AddDeployKeys(const std::string& app, const std::vector<PublicKey>& keys,
                                       const std::string& access, const std::string& added_by);
  // Every deploy key, or those of `app`, by app then age.
  std::vector<DeployKey> ListDeployKeys(const std::optional<std::string>& app);
  // The authentication check for keys that are not a user's.
  std::optional<DeployKey> FindDeployKey(const std::string& fingerprint);

  // API tokens (store_tokens.cc), found by the hex SHA-256 of the token.
  // Create throws Error for an unknown user, a name longer than 64
  // characters or with control characters, or a hash already recorded.
  ApiToken CreateApiToken(const std::string& user, const std::string& name,
                          const std::string& token_sha256);
  // By user name, then in the order created; of one user (Error when
  // unknown) or of everyone.
  std::vector<ApiToken> ListApiTokens(const std::optional<std::string>& user);
  // Deletes the token and returns what it was; Error "no token ID" if none.
  ApiToken RevokeApiToken(int64_t id);
  // The user whose token has this hash, or nullopt. Records the use in
  // last_used_at, at most once a minute per token, so that requests do not
  // each write to the database.
  std::optional<User> FindUserByApiToken(const std::string& token_sha256);
  // A deploy token of `app` with `access` ("read" or "write"); listed and
  // revoked with the API tokens. Throws Error for an unknown app, an access
  // that is neither, or a name or hash as for CreateApiToken.
  ApiToken CreateDeployToken(const std::string& app, const std::string& access,
                             const std::string& name, const std::string& token_sha256);
  // The deploy token with this hash, or nullopt; its use is recorded as for
  // FindUserByApiToken. A user's token is never a deploy token, nor the
  // other way round.
  std::optional<ApiToken> FindDeployToken(const std::string& token_sha256);

  // Runs a query; throws Error when the database does not answer. For
  // health checks.
  void Ping();

  // Appends `entry` to the audit log (its id and at are the store's).
  void Audit(const AuditEntry& entry);
  // The audit log, oldest first: the entries written at or after `since`,
  // if given; of those, the `limit` newest when `limit` is above 0.
  std::vector<AuditEntry> ListAudit(
      std::optional<std::chrono::system_clock::time_point> since = std::nullopt, int limit = 0);

  // Builds (store_builds.cc). Every status argument is checked: an unknown one,
  // or one that is not terminal where a terminal one is due, throws Error. An
  // unknown build throws Error "build N: no such build", an unknown job
  // "build job N: no such job". A build or job that has already finished is
  // not changed again: finishing or starting it throws Error.

  // Records a queued build with one queued job per platform; each job's log_path is
  // logs_dir/<build id>/<platform with '/' replaced by '-'>.log (see BuildLogPath).
  // Throws Error when the app is unknown, or a platform is missing, invalid
  // (IsValidPlatform) or given twice. Creates no file or directory.
  Build CreateBuild(const NewBuild& build, const std::filesystem::path& logs_dir);
  // Queued -> running, started_at = now.
  void StartBuild(int64_t build_id);
  // Terminal status (succeeded|failed|cancelled|interrupted); finished_at = now. Jobs still
  // queued or running get the same status, unless it is succeeded: a build succeeds
  // only once every job has succeeded, else Error. `tags` (the index's) are recorded
  // in order, a repeated one once.
  void FinishBuild(int64_t build_id, const std::string& status, const std::string& error,
                   const std::string& index_digest, const std::vector<std::string>& tags);
  // Queued -> running, with the job's per-architecture tag; started_at = now.
  void StartJob(int64_t job_id, const std::string& tag);
  // Queued or running -> a terminal status; finished_at = now.
  void FinishJob(int64_t job_id, const std::string& status, std::optional<int> exit_code,
                 const std::string& digest);
  std::optional<Build> FindBuild(int64_t build_id);
  // Newest first, at most `limit` (at least 1), of one app or of all. Throws
  // Error when `app` is unknown.
  std::vector<Build> ListBuilds(const std::optional<std::string>& app, int limit = 50);
  // The same across `apps` (names; unknown ones have no builds): newest first,
  // at most `limit`.
  std::vector<Build> ListBuildsOfApps(const std::vector<std::string>& apps, int limit);
  // How many builds ended with each terminal status; each of succeeded,
  // failed, cancelled and interrupted is there, 0 included.
  std::map<std::string, int64_t> CountFinishedBuilds();
  // At start: builds (and their jobs) left queued or running by a hephyd that stopped without
  // finishing them become interrupted. Returns their ids.
  // Their error says "hephyd stopped before the build finished". Call it only
  // while no other hephyd builds with this database.
  std::vector<int64_t> MarkInterruptedBuilds();

  // Every build's id, app, status and creation time, by id.
  std::vector<BuildAge> ListBuildAges();
  // Every index tag recorded, with the newest build that pushed it.
  std::map<std::string, int64_t> NewestBuildOfTags();
  // Deletes those of `ids` that have finished (with their jobs and tags), in
  // one transaction; a queued or running build, or an unknown id, is left.
  // Returns the ids deleted. Log files are the caller's.
  std::vector<int64_t> DeleteFinishedBuilds(const std::vector<int64_t>& ids);

  // The rebuild schedule's last run (UTC), if it ever ran; and recording one.
  std::optional<std::chrono::system_clock::time_point> LastScheduledRebuild();
  void RecordScheduledRebuild(std::chrono::system_clock::time_point when);

 private:
  // The build's status; throws Error when there is no such build.
  std::string BuildStatus(int64_t build_id);

  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace hephy
