-- Deploy tokens: the HTTPS counterpart of deploy keys, a token bound to one
-- app with read or write access, for CI jobs that use git over HTTP(S). They
-- live beside the users' API tokens so that one id names either kind
-- (`hephyd tokens revoke ID`) and a hash is recorded once. A row is a user's
-- token (user_id) or a deploy token (app_id and access), never both, never
-- neither. SQLite cannot drop NOT NULL from user_id, so the table is copied
-- into a new one and renamed back, as in 0007 (nothing references it).
CREATE TABLE api_tokens_new (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER REFERENCES users(id) ON DELETE CASCADE,
  app_id        INTEGER REFERENCES apps(id) ON DELETE CASCADE,
  access        TEXT CHECK (access IN ('read', 'write')),
  name          TEXT NOT NULL DEFAULT '',
  token_sha256  TEXT NOT NULL UNIQUE,
  created_at    TEXT NOT NULL DEFAULT (datetime('now')),
  last_used_at  TEXT,
  CHECK ((user_id IS NULL) <> (app_id IS NULL)),
  CHECK ((app_id IS NULL) = (access IS NULL))
);
INSERT INTO api_tokens_new (id, user_id, name, token_sha256, created_at, last_used_at)
  SELECT id, user_id, name, token_sha256, created_at, last_used_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE INDEX api_tokens_app ON api_tokens(app_id);
