-- A task fires only between start_at and end_at (epoch ms; null: unbounded).
ALTER TABLE scheduled_tasks ADD COLUMN start_at INTEGER;
ALTER TABLE scheduled_tasks ADD COLUMN end_at INTEGER;
