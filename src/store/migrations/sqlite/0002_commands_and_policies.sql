-- Command tasks (type 'command' and its fields), retry backoff, pause notes, a window of
-- firing (start_at, end_at) and the buffering overlap policies. SQLite cannot change a
-- CHECK in place, so the table is made again and its rows copied. The store applies
-- migrations with foreign keys off: dropping the old table must not take the executions
-- with it (ON DELETE CASCADE), and their references name the table by its name, which the
-- new one takes.
CREATE TABLE scheduled_tasks_new (
  id                      TEXT PRIMARY KEY,
  name                    TEXT NOT NULL,
  cron_expression         TEXT NOT NULL,
  timezone                TEXT NOT NULL DEFAULT 'UTC',
  type                    TEXT NOT NULL
                          CHECK (type = 'function' OR type = 'http' OR type = 'command'),
  function_name           TEXT,
  function_payload        TEXT,
  http_method             TEXT,
  http_url                TEXT,
  http_headers            TEXT,
  http_body               TEXT,
  catch_up                INTEGER NOT NULL DEFAULT 0 CHECK (catch_up = 0 OR catch_up = 1),
  enabled                 INTEGER NOT NULL DEFAULT 1 CHECK (enabled = 0 OR enabled = 1),
  max_retries             INTEGER NOT NULL DEFAULT 0,
  retry_delay_seconds     INTEGER NOT NULL DEFAULT 60,
  timeout_seconds         INTEGER NOT NULL DEFAULT 300,
  overlap_policy          TEXT NOT NULL DEFAULT 'allow'
                          CHECK (overlap_policy = 'allow' OR overlap_policy = 'skip'
                                 OR overlap_policy = 'replace' OR overlap_policy = 'buffer_one'
                                 OR overlap_policy = 'buffer_all'),
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL,
  command                 TEXT,
  working_directory       TEXT,
  environment             TEXT,
  command_input           TEXT,
  retry_backoff           TEXT NOT NULL DEFAULT 'fixed'
                          CHECK (retry_backoff = 'fixed' OR retry_backoff = 'exponential'),
  retry_max_delay_seconds INTEGER NOT NULL DEFAULT 3600,
  paused_note             TEXT,
  paused_at               INTEGER,
  start_at                INTEGER,
  end_at                  INTEGER
);

INSERT INTO scheduled_tasks_new (
  id, name, cron_expression, timezone, type, function_name, function_payload, http_method,
  http_url, http_headers, http_body, catch_up, enabled, max_retries, retry_delay_seconds,
  timeout_seconds, overlap_policy, created_at, updated_at)
SELECT
  id, name, cron_expression, timezone, type, function_name, function_payload, http_method,
  http_url, http_headers, http_body, catch_up, enabled, max_retries, retry_delay_seconds,
  timeout_seconds, overlap_policy, created_at, updated_at
FROM scheduled_tasks;

DROP TABLE scheduled_tasks;
ALTER TABLE scheduled_tasks_new RENAME TO scheduled_tasks;

CREATE INDEX scheduled_tasks_created ON scheduled_tasks (created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_type ON scheduled_tasks (type, created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_enabled ON scheduled_tasks (enabled, created_at DESC, id DESC);
