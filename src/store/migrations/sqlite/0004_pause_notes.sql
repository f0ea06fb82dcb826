-- Why and since when a task is paused (null while it is enabled).
ALTER TABLE scheduled_tasks ADD COLUMN paused_note TEXT;
ALTER TABLE scheduled_tasks ADD COLUMN paused_at INTEGER;
