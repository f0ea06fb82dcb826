-- Tags: a JSON array of strings (the API's `tags`), or NULL for none. A filter by tag reads
-- them with json_each.
ALTER TABLE scheduled_tasks ADD COLUMN tags TEXT;
