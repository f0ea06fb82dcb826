-- Where notifications go: a webhook, a Slack incoming webhook or mailboxes (SMTP). Secrets
-- (headers, secret, smtp_password) are never answered by the API; it says only whether
-- they are set.
CREATE TABLE notification_channels (
  id             TEXT COLLATE "C" PRIMARY KEY,
  name           TEXT NOT NULL,
  type           TEXT NOT NULL CHECK (type IN ('webhook', 'slack', 'email')),
  url            TEXT NOT NULL,   -- webhook, slack: http(s); email: smtp:// or smtps://
  headers        TEXT,            -- webhook: a JSON object of strings
  secret         TEXT,            -- webhook: the HMAC-SHA256 key of X-Cronkit-Signature
  mail_from      TEXT,            -- email: the sender
  mail_to        TEXT,            -- email: the recipients, one address per line
  smtp_user      TEXT,
  smtp_password  TEXT,
  start_tls      BOOLEAN NOT NULL DEFAULT false,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX notification_channels_created ON notification_channels (created_at, id);
