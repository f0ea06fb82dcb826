-- Scheduling policies: jitter (a delay after each instant, the same on every server), a run
-- limit (max_runs, and run_count: the firings the claims counted) and a failure limit.
ALTER TABLE scheduled_tasks ADD COLUMN jitter_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scheduled_tasks ADD COLUMN max_runs INTEGER;
ALTER TABLE scheduled_tasks ADD COLUMN run_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scheduled_tasks ADD COLUMN pause_after_failures INTEGER;
