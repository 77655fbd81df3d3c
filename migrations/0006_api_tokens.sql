-- API tokens for the HTTP API: a request bearing one acts with its user's
-- rights. Only the SHA-256 of a token is kept (hex); the token itself is shown
-- once, when it is created.
CREATE TABLE api_tokens (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL DEFAULT '',
  token_sha256  TEXT NOT NULL UNIQUE,
  created_at    TEXT NOT NULL DEFAULT (datetime('now')),
  last_used_at  TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
