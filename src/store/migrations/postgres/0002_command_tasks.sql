-- Command tasks: a third type and its fields (argv as a JSON array, variables as a JSON
-- object, both as text like the other JSON fields).
ALTER TABLE scheduled_tasks
  DROP CONSTRAINT scheduled_tasks_type_check,
  ADD CONSTRAINT scheduled_tasks_type_check CHECK (type IN ('function', 'http', 'command')),
  ADD COLUMN command TEXT,
  ADD COLUMN working_directory TEXT,
  ADD COLUMN environment TEXT,
  ADD COLUMN command_input TEXT;
