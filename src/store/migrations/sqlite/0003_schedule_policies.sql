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
