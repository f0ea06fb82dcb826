-- Where notifications go: a webhook, a Slack incoming webhook or a mailbox (SMTP). Secrets
-- (headers, secret, smtp_password) are never answered by the API; it says only whether
-- they are set.
CREATE TABLE notification_channels (
  id             TEXT COLLATE "C" PRIMARY KEY,
  name           TEXT NOT NULL,
  type           TEXT NOT NULL CHECK (type IN ('webhook', 'slack', 'email')),
  url            TEXT,            -- webhook, slack
  headers        TEXT,            -- webhook: a JSON object of strings
  secret         TEXT,            -- webhook: the HMAC-SHA256 key of X-Cronkit-Signature
  smtp_url       TEXT,            -- email: smtp:// or smtps://
  mail_from      TEXT,
  mail_to        TEXT,            -- a JSON array of addresses
  smtp_user      TEXT,
  smtp_password  TEXT,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX notification_channels_created ON notification_channels (created_at, id);
