-- Where notifications go: a webhook, a Slack incoming webhook or mailboxes (SMTP). Secrets
-- (headers, secret, smtp_password) are never answered by the API; it says only whether
-- they are set.
CREATE TABLE notification_channels (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  type           TEXT NOT NULL CHECK (type = 'webhook' OR type = 'slack' OR type = 'email'),
  url            TEXT NOT NULL,   -- webhook, slack: http(s); email: smtp:// or smtps://
  headers        TEXT,            -- webhook: a JSON object of strings
  secret         TEXT,            -- webhook: the HMAC-SHA256 key of X-Cronkit-Signature
  mail_from      TEXT,            -- email: the sender
  mail_to        TEXT,            -- email: the recipients, one address per line
  smtp_user      TEXT,
  smtp_password  TEXT,
  start_tls      INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX notification_channels_created ON notification_channels (created_at, id);

-- Every notification sent or to be sent, its attempts and how the last one went. No foreign
-- keys: a delivery is kept after its channel or task is deleted.
CREATE TABLE notification_deliveries (
  id            TEXT PRIMARY KEY,  -- the delivery id (X-Cronkit-Delivery)
  channel_id    TEXT NOT NULL,
  task_id       TEXT,
  execution_id  TEXT,
  event         TEXT NOT NULL
                CHECK (event IN ('test', 'failure', 'recovery', 'slow', 'missed', 'paused')),
  status        TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  last_status   INTEGER,           -- the receiver's HTTP status or SMTP reply
  last_error    TEXT,
  summary       TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  finished_at   INTEGER
);
-- Lists newest first (ids are UUIDv7s of created_at), whole or by channel, task or status.
CREATE INDEX notification_deliveries_channel ON notification_deliveries (channel_id, id);
CREATE INDEX notification_deliveries_task ON notification_deliveries (task_id, id);
CREATE INDEX notification_deliveries_status ON notification_deliveries (status, id);
