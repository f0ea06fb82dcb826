-- The audit trail: who changed what, when, and from where. A row is written in the
-- transaction of the change it records, so a change is never without its row nor a row
-- without its change. Refused logins are rows too (coalesced per address and actor).
CREATE TABLE audit_log (
  id           TEXT COLLATE "C" PRIMARY KEY,   -- time-ordered, like every id here
  at           BIGINT NOT NULL,                -- ms since the epoch
  actor        TEXT NOT NULL,   -- a token's name, "bootstrap", "anonymous" or "cronkit"
  address      TEXT NOT NULL,   -- the peer's address; empty for cronkit itself
  action       TEXT NOT NULL,   -- task.create, token.revoke, auth.failed...
  target_id    TEXT,
  target_name  TEXT,
  changes      JSON,            -- {field: {old, new}} of an update (kept as written)
  detail       JSON             -- what else the action said
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
