-- Scheduling policies: jitter (a delay after each instant, the same on every server).
ALTER TABLE scheduled_tasks ADD COLUMN jitter_seconds INTEGER NOT NULL DEFAULT 0;
