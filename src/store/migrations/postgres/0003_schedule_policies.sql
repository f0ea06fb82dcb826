-- Scheduling policies: jitter (a delay after each instant, the same on every server), a run
-- limit (max_runs, and run_count: the firings the claims counted), a failure limit and the
-- catch-up policy.
ALTER TABLE scheduled_tasks
  ADD COLUMN jitter_seconds INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN max_runs INTEGER,
  ADD COLUMN run_count BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN pause_after_failures INTEGER,
  -- Catch-up: none, the latest missed instant (what catch_up meant) or all of them within a
  -- window. catch_up stays, kept equal to catch_up_policy <> 'none'.
  ADD COLUMN catch_up_policy TEXT NOT NULL DEFAULT 'none'
    CHECK (catch_up_policy IN ('none', 'latest', 'all')),
  ADD COLUMN catch_up_window_seconds INTEGER NOT NULL DEFAULT 86400;
UPDATE scheduled_tasks SET catch_up_policy = 'latest' WHERE catch_up;

-- Backfill: a trigger of its own (the claim's unique index already covers it).
ALTER TABLE task_execution_logs
  DROP CONSTRAINT task_execution_logs_trigger_check,
  ADD CONSTRAINT task_execution_logs_trigger_check
    CHECK ("trigger" IN ('schedule', 'manual', 'catch-up', 'backfill'));
