-- Executions partitioned by the month of scheduled_for (UTC), so that retention drops a
-- month's table instead of deleting its rows one by one. The server creates each month's
-- partition ahead of time (task_execution_logs_pYYYYMM); rows outside every month's range
-- go to the default partition: the history from before this migration (kept in place, not
-- copied), the failures kept from dropped months, and backfills of instants older than the
-- oldest month.
ALTER TABLE task_execution_logs RENAME TO task_execution_logs_default;
-- Its key becomes the partitioned table's (id, scheduled_for), built when it is attached.
ALTER TABLE task_execution_logs_default DROP CONSTRAINT task_execution_logs_pkey;
ALTER INDEX task_execution_logs_claim RENAME TO task_execution_logs_default_claim;
ALTER INDEX task_execution_logs_task RENAME TO task_execution_logs_default_task;
ALTER INDEX task_execution_logs_unsuccessful RENAME TO task_execution_logs_default_unsuccessful;

CREATE TABLE task_execution_logs (
  id              TEXT COLLATE "C" NOT NULL,
  task_id         TEXT COLLATE "C" NOT NULL REFERENCES scheduled_tasks (id) ON DELETE CASCADE,
  status          TEXT NOT NULL
                  CONSTRAINT task_execution_logs_status_check
                  CHECK (status IN ('queued', 'running', 'success', 'failed', 'timed_out',
                                    'skipped')),
  "trigger"       TEXT NOT NULL DEFAULT 'schedule'
                  CONSTRAINT task_execution_logs_trigger_check
                  CHECK ("trigger" IN ('schedule', 'manual', 'catch-up', 'backfill')),
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
  owner           TEXT COLLATE "C" NOT NULL,
  -- A partitioned table's keys include its partition key; ids are unique by themselves
  -- (UUIDv7s), and a row keeps its scheduled_for, so (id, scheduled_for) names one row.
  PRIMARY KEY (id, scheduled_for)
) PARTITION BY RANGE (scheduled_for);

-- The same indexes as before, now on every partition (the old table's are adopted).
CREATE UNIQUE INDEX task_execution_logs_claim
  ON task_execution_logs (task_id, scheduled_for) WHERE "trigger" <> 'manual';
CREATE INDEX task_execution_logs_task ON task_execution_logs (task_id, id);
CREATE INDEX task_execution_logs_unsuccessful
  ON task_execution_logs (status, id) WHERE status <> 'success';

-- Adopting the old table builds its (id, scheduled_for) key: one pass over its rows.
ALTER TABLE task_execution_logs ATTACH PARTITION task_execution_logs_default DEFAULT;
