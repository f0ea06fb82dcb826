-- Tags: a JSON array of strings (the API's `tags`), or NULL for none. A filter by tags is
-- a containment (tags @> '["team:payments"]'), which the GIN index answers.
ALTER TABLE scheduled_tasks ADD COLUMN tags JSONB;
CREATE INDEX scheduled_tasks_tags ON scheduled_tasks USING GIN (tags jsonb_path_ops);
