-- Command tasks (type 'command' and its fields: argv as a JSON array, variables as a JSON
-- object, both as text like the other JSON fields), retry backoff, pause notes, a window of
-- firing (start_at, end_at) and the buffering overlap policies.
ALTER TABLE scheduled_tasks
  DROP CONSTRAINT scheduled_tasks_type_check,
  ADD CONSTRAINT scheduled_tasks_type_check CHECK (type IN ('function', 'http', 'command')),
  DROP CONSTRAINT scheduled_tasks_overlap_policy_check,
  ADD CONSTRAINT scheduled_tasks_overlap_policy_check
    CHECK (overlap_policy IN ('allow', 'skip', 'replace', 'buffer_one', 'buffer_all')),
  ADD COLUMN command TEXT,
  ADD COLUMN working_directory TEXT,
  ADD COLUMN environment TEXT,
  ADD COLUMN command_input TEXT,
  ADD COLUMN retry_backoff TEXT NOT NULL DEFAULT 'fixed'
    CHECK (retry_backoff IN ('fixed', 'exponential')),
  ADD COLUMN retry_max_delay_seconds INTEGER NOT NULL DEFAULT 3600,
  ADD COLUMN paused_note TEXT,
  ADD COLUMN paused_at BIGINT,
  ADD COLUMN start_at BIGINT,
  ADD COLUMN end_at BIGINT;
