-- Overlap policies that buffer: buffer_one and buffer_all.
ALTER TABLE scheduled_tasks
  DROP CONSTRAINT scheduled_tasks_overlap_policy_check,
  ADD CONSTRAINT scheduled_tasks_overlap_policy_check
    CHECK (overlap_policy IN ('allow', 'skip', 'replace', 'buffer_one', 'buffer_all'));
