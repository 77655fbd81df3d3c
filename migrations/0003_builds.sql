-- Builds: one per unit built for a push (or a rebuild), one job per platform,
-- and the tags its multi-architecture index was pushed under.
CREATE TABLE builds (
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
  finished_at      TEXT
);
CREATE INDEX builds_app ON builds(app_id, id);
CREATE INDEX builds_status ON builds(status);

CREATE TABLE build_jobs (
  id           INTEGER PRIMARY KEY,
  build_id     INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
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

CREATE TABLE build_tags (
  build_id  INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  tag       TEXT NOT NULL,
  PRIMARY KEY (build_id, tag)
);
