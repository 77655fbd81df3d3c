-- Builds may be started by `hephyd build` (triggered_by 'cli'), the one-shot
-- build of a local checkout in CI. SQLite cannot change a CHECK constraint,
-- so the build tables are copied into new ones and renamed back: children
-- are dropped before builds, whose implicit DELETE would otherwise cascade
-- to them, and the renames carry the REFERENCES clauses along.
CREATE TABLE builds_new (
  id               INTEGER PRIMARY KEY,
  app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  unit             TEXT NOT NULL,
  ref              TEXT NOT NULL,
  old_sha          TEXT NOT NULL,
  new_sha          TEXT NOT NULL,
  -- A name, not a users(id): the record of who pushed outlives the user.
  pusher           TEXT NOT NULL,
  key_fingerprint  TEXT NOT NULL DEFAULT '',
  push_id          TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                     ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  error            TEXT NOT NULL DEFAULT '',
  index_digest     TEXT NOT NULL DEFAULT '',
  created_at       TEXT NOT NULL DEFAULT (datetime('now')),
  started_at       TEXT,
  finished_at      TEXT,
  triggered_by     TEXT NOT NULL DEFAULT 'push'
                     CHECK (triggered_by IN ('push', 'schedule', 'manual', 'cli')),
  source_url       TEXT NOT NULL DEFAULT '',
  source_sha       TEXT NOT NULL DEFAULT ''
);
INSERT INTO builds_new (id, app_id, unit, ref, old_sha, new_sha, pusher, key_fingerprint,
                        push_id, status, error, index_digest, created_at, started_at,
                        finished_at, triggered_by, source_url, source_sha)
  SELECT id, app_id, unit, ref, old_sha, new_sha, pusher, key_fingerprint, push_id, status,
         error, index_digest, created_at, started_at, finished_at, triggered_by, source_url,
         source_sha
  FROM builds;

CREATE TABLE build_jobs_new (
  id           INTEGER PRIMARY KEY,
  build_id     INTEGER NOT NULL REFERENCES builds_new(id) ON DELETE CASCADE,
  platform     TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                 ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  tag          TEXT NOT NULL DEFAULT '',
  digest       TEXT NOT NULL DEFAULT '',
  exit_code    INTEGER,
  log_path     TEXT NOT NULL,
  started_at   TEXT,
  finished_at  TEXT,
  UNIQUE (build_id, platform)
);
INSERT INTO build_jobs_new (id, build_id, platform, status, tag, digest, exit_code, log_path,
                            started_at, finished_at)
  SELECT id, build_id, platform, status, tag, digest, exit_code, log_path, started_at,
         finished_at
  FROM build_jobs;

CREATE TABLE build_tags_new (
  build_id  INTEGER NOT NULL REFERENCES builds_new(id) ON DELETE CASCADE,
  tag       TEXT NOT NULL,
  PRIMARY KEY (build_id, tag)
);
INSERT INTO build_tags_new (build_id, tag) SELECT build_id, tag FROM build_tags;

DROP TABLE build_tags;
DROP TABLE build_jobs;
DROP TABLE builds;
ALTER TABLE builds_new RENAME TO builds;
ALTER TABLE build_jobs_new RENAME TO build_jobs;
ALTER TABLE build_tags_new RENAME TO build_tags;
CREATE INDEX builds_app ON builds(app_id, id);
CREATE INDEX builds_status ON builds(status);
