-- Tasks and their executions, as in the SQLite schema. Times are milliseconds since the
-- Unix epoch (UTC). Ids compare byte by byte (COLLATE "C"): execution ids are UUIDv7s of
-- queued_at, so their order is queue order whatever the database's locale.
CREATE TABLE scheduled_tasks (
  id                  TEXT COLLATE "C" PRIMARY KEY,
  name                TEXT NOT NULL,
  cron_expression     TEXT NOT NULL,
  timezone            TEXT NOT NULL DEFAULT 'UTC',
  type                TEXT NOT NULL CHECK (type IN ('function', 'http')),
  function_name       TEXT,
  function_payload    TEXT,
  http_method         TEXT,
  http_url            TEXT,
  http_headers        TEXT,
  http_body           TEXT,
  catch_up            BOOLEAN NOT NULL DEFAULT false,
  enabled             BOOLEAN NOT NULL DEFAULT true,
  max_retries         INTEGER NOT NULL DEFAULT 0,
  retry_delay_seconds INTEGER NOT NULL DEFAULT 60,
  timeout_seconds     INTEGER NOT NULL DEFAULT 300,
  overlap_policy      TEXT NOT NULL DEFAULT 'allow'
                      CHECK (overlap_policy IN ('allow', 'skip', 'replace')),
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL
);

-- Lists page newest first, filtered by type and by enabled.
CREATE INDEX scheduled_tasks_created ON scheduled_tasks (created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_type ON scheduled_tasks (type, created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_enabled ON scheduled_tasks (enabled, created_at DESC, id DESC);

CREATE TABLE task_execution_logs (
  id              TEXT COLLATE "C" PRIMARY KEY,
  -- Deleting a task deletes its history.
  task_id         TEXT COLLATE "C" NOT NULL REFERENCES scheduled_tasks (id) ON DELETE CASCADE,
  status          TEXT NOT NULL
                  CHECK (status IN ('queued', 'running', 'success', 'failed', 'timed_out',
                                    'skipped')),
  "trigger"       TEXT NOT NULL DEFAULT 'schedule'
                  CHECK ("trigger" IN ('schedule', 'manual', 'catch-up')),
  scheduled_for   BIGINT NOT NULL,
  queued_at       BIGINT NOT NULL,
  started_at      BIGINT,
  finished_at     BIGINT,
  error_message   TEXT,
  result_summary  TEXT,
  output          TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,
  duration_ms     BIGINT,
  node_id         TEXT,
  -- The cluster member that owns the row: only it changes a queued or running execution;
  -- a member that went silent has its rows taken over (see cluster_members).
  owner           TEXT COLLATE "C" NOT NULL
);

-- One execution per scheduled instant of a task: the claim that makes each firing run
-- once, whichever server tries to insert it. Manual runs may repeat.
CREATE UNIQUE INDEX task_execution_logs_claim
  ON task_execution_logs (task_id, scheduled_for) WHERE "trigger" <> 'manual';
-- As in SQLite: id order is queue order; the per-task index ends in id; successful rows
-- stay out of the status index.
CREATE INDEX task_execution_logs_task ON task_execution_logs (task_id, id);
CREATE INDEX task_execution_logs_unsuccessful
  ON task_execution_logs (status, id) WHERE status <> 'success';
-- (What a silent member leaves unfinished is found through the status index: an index on
-- owner made the planner look up batch updates by owner, every row of which matched.)

-- The servers sharing this database. Each process is a member with its own id; it renews
-- heartbeat_at (the database's clock, epoch milliseconds) every second.
CREATE TABLE cluster_members (
  member_id    TEXT COLLATE "C" PRIMARY KEY,
  node         TEXT NOT NULL,
  joined_at    BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);
