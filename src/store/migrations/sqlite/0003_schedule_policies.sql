-- Scheduling policies: jitter (a delay after each instant, the same on every server), a run
-- limit (max_runs, and run_count: the firings the claims counted), a failure limit and the
-- catch-up policy.
ALTER TABLE scheduled_tasks ADD COLUMN jitter_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scheduled_tasks ADD COLUMN max_runs INTEGER;
ALTER TABLE scheduled_tasks ADD COLUMN run_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scheduled_tasks ADD COLUMN pause_after_failures INTEGER;
-- Catch-up: none, the latest missed instant (what catch_up = 1 meant) or all of them within
-- a window. catch_up stays, kept equal to catch_up_policy <> 'none'.
ALTER TABLE scheduled_tasks ADD COLUMN catch_up_policy TEXT NOT NULL DEFAULT 'none'
  CHECK (catch_up_policy = 'none' OR catch_up_policy = 'latest' OR catch_up_policy = 'all');
ALTER TABLE scheduled_tasks ADD COLUMN catch_up_window_seconds INTEGER NOT NULL DEFAULT 86400;
UPDATE scheduled_tasks SET catch_up_policy = 'latest' WHERE catch_up = 1;

-- Backfill: a trigger of its own. SQLite cannot change a CHECK in place, so the executions
-- table is made again (with foreign keys off during migrations) and its rows copied.
CREATE TABLE task_execution_logs_new (
  id              TEXT PRIMARY KEY,
  task_id         TEXT NOT NULL REFERENCES scheduled_tasks (id) ON DELETE CASCADE,
  status          TEXT NOT NULL
                  CHECK (status = 'queued' OR status = 'running' OR status = 'success'
                         OR status = 'failed' OR status = 'timed_out' OR status = 'skipped'),
  trigger         TEXT NOT NULL DEFAULT 'schedule'
                  CHECK ("trigger" = 'schedule' OR "trigger" = 'manual' OR "trigger" = 'catch-up'
                         OR "trigger" = 'backfill'),
  scheduled_for   INTEGER NOT NULL,
  queued_at       INTEGER NOT NULL,
  started_at      INTEGER,
  finished_at     INTEGER,
  error_message   TEXT,
  result_summary  TEXT,
  output          TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,
  duration_ms     INTEGER,
  node_id         TEXT
);
INSERT INTO task_execution_logs_new (
  id, task_id, status, trigger, scheduled_for, queued_at, started_at, finished_at,
  error_message, result_summary, output, attempts, duration_ms, node_id)
SELECT
  id, task_id, status, trigger, scheduled_for, queued_at, started_at, finished_at,
  error_message, result_summary, output, attempts, duration_ms, node_id
FROM task_execution_logs;
DROP TABLE task_execution_logs;
ALTER TABLE task_execution_logs_new RENAME TO task_execution_logs;
-- The claim covers backfilled instants too: each (task, instant) runs once, however it came.
CREATE UNIQUE INDEX task_execution_logs_claim
  ON task_execution_logs (task_id, scheduled_for) WHERE trigger <> 'manual';
CREATE INDEX task_execution_logs_task ON task_execution_logs (task_id, id);
CREATE INDEX task_execution_logs_unsuccessful
  ON task_execution_logs (status, id) WHERE status <> 'success';
