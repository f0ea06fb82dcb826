-- Retry policies: exponential backoff up to a cap (which also bounds Retry-After).
ALTER TABLE scheduled_tasks
  ADD COLUMN retry_backoff TEXT NOT NULL DEFAULT 'fixed'
    CHECK (retry_backoff IN ('fixed', 'exponential')),
  ADD COLUMN retry_max_delay_seconds INTEGER NOT NULL DEFAULT 3600;
