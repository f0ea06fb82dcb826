-- Notification rules and the outbox. A task's rules are a JSON array (the API's
-- `notifications`); the alert state of each task and channel is what the rules count; a
-- delivery to send is a `pending` row of notification_deliveries, written in the same
-- transaction as the execution that caused it, and sent by whichever server leases it.
ALTER TABLE scheduled_tasks ADD COLUMN notifications TEXT;

CREATE TABLE notification_alerts (
  task_id      TEXT NOT NULL REFERENCES scheduled_tasks (id) ON DELETE CASCADE,
  channel_id   TEXT NOT NULL,
  failures     INTEGER NOT NULL DEFAULT 0,  -- failed or timed-out executions in a row
  alerting     INTEGER NOT NULL DEFAULT 0,  -- a failure was notified; a success recovers
  alerted_at   INTEGER,                     -- the last failure notification
  checked_until INTEGER,                    -- missed: the instants up to here were checked
  PRIMARY KEY (task_id, channel_id)
);

-- The event's facts (a JSON document: the webhook's body without its link), when the next
-- attempt is due, and who sends it until when (a server that dies leaves its lease to run
-- out and another takes the delivery over).
ALTER TABLE notification_deliveries ADD COLUMN payload TEXT;
ALTER TABLE notification_deliveries ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE notification_deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE notification_deliveries ADD COLUMN lease_until INTEGER;
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
  WHERE status = 'pending';

-- A rate-limited channel (Slack, email) sends nothing before send_after: what waits for it
-- goes in one digest.
ALTER TABLE notification_channels ADD COLUMN send_after INTEGER;
