-- Builds say what started them (a push, the rebuild schedule, or someone
-- running `hephyd rebuild`) and, for units built from an upstream
-- repository, which repository and commit the image was built from. The
-- rebuild schedule remembers its last run so that a restart neither repeats
-- nor skips one.
ALTER TABLE builds ADD COLUMN triggered_by TEXT NOT NULL DEFAULT 'push'
  CHECK (triggered_by IN ('push', 'schedule', 'manual'));
ALTER TABLE builds ADD COLUMN source_url TEXT NOT NULL DEFAULT '';
ALTER TABLE builds ADD COLUMN source_sha TEXT NOT NULL DEFAULT '';

CREATE TABLE rebuild_schedule (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  last_run_at  TEXT NOT NULL
);
