-- Deploy keys: an SSH key bound to one app with read or write access, for CI
-- jobs that mirror a repository into hephyd. A fingerprint is either a
-- user's key (ssh_keys) or a deploy key, never both (checked on insert).
CREATE TABLE deploy_keys (
  id           INTEGER PRIMARY KEY,
  app_id       INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  access       TEXT NOT NULL DEFAULT 'read' CHECK (access IN ('read', 'write')),
  type         TEXT NOT NULL,
  blob         TEXT NOT NULL,
  comment      TEXT NOT NULL DEFAULT '',
  bits         INTEGER NOT NULL,
  fingerprint  TEXT NOT NULL UNIQUE,
  -- A name, not a users(id): the record of who added it outlives the user.
  added_by     TEXT NOT NULL DEFAULT '',
  created_at   TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX deploy_keys_app ON deploy_keys(app_id);
