-- Tasks and their executions. Times are milliseconds since the Unix epoch (UTC).
-- The CHECKs compare with OR, not IN (...): SQLite evaluates an IN list by building a
-- temporary index for every row it writes, which costs more than the write itself.
CREATE TABLE scheduled_tasks (
  id                  TEXT PRIMARY KEY,
  name                TEXT NOT NULL,
  cron_expression     TEXT NOT NULL,
  timezone            TEXT NOT NULL DEFAULT 'UTC',
  type                TEXT NOT NULL CHECK (type = 'function' OR type = 'http'),
  function_name       TEXT,
  function_payload    TEXT,
  http_method         TEXT,
  http_url            TEXT,
  http_headers        TEXT,
  http_body           TEXT,
  catch_up            INTEGER NOT NULL DEFAULT 0 CHECK (catch_up = 0 OR catch_up = 1),
  enabled             INTEGER NOT NULL DEFAULT 1 CHECK (enabled = 0 OR enabled = 1),
  max_retries         INTEGER NOT NULL DEFAULT 0,
  retry_delay_seconds INTEGER NOT NULL DEFAULT 60,
  timeout_seconds     INTEGER NOT NULL DEFAULT 300,
  overlap_policy      TEXT NOT NULL DEFAULT 'allow'
                      CHECK (overlap_policy = 'allow' OR overlap_policy = 'skip'
                             OR overlap_policy = 'replace'),
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);

-- Lists page newest first, filtered by type and by enabled.
CREATE INDEX scheduled_tasks_created ON scheduled_tasks (created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_type ON scheduled_tasks (type, created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_enabled ON scheduled_tasks (enabled, created_at DESC, id DESC);

CREATE TABLE task_execution_logs (
  id              TEXT PRIMARY KEY,
  -- Deleting a task deletes its history.
  task_id         TEXT NOT NULL REFERENCES scheduled_tasks (id) ON DELETE CASCADE,
  status          TEXT NOT NULL
                  CHECK (status = 'queued' OR status = 'running' OR status = 'success'
                         OR status = 'failed' OR status = 'timed_out' OR status = 'skipped'),
  trigger         TEXT NOT NULL DEFAULT 'schedule'
                  CHECK ("trigger" = 'schedule' OR "trigger" = 'manual' OR "trigger" = 'catch-up'),
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

-- One execution per scheduled instant of a task: the claim that makes each firing run
-- once. Manual runs are not instants of the schedule and may repeat.
CREATE UNIQUE INDEX task_execution_logs_claim
  ON task_execution_logs (task_id, scheduled_for) WHERE trigger <> 'manual';
-- Execution ids are UUIDv7s of queued_at, so id order is queue order: the primary key
-- serves the list of all executions, the 24-hour stats and the retention cleanup, and the
-- other indexes end in id. Most executions end in success and most lists are of recent
-- ones, so the status index leaves out successful rows: an execution leaves it when it
-- succeeds instead of moving within it.
CREATE INDEX task_execution_logs_task ON task_execution_logs (task_id, id);
CREATE INDEX task_execution_logs_unsuccessful
  ON task_execution_logs (status, id) WHERE status <> 'success';
