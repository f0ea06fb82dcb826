-- Named API tokens. Only each token's SHA-256 is kept: a token is 256 random bits, so its
-- hash cannot be turned back into it, and a copy of the database gives no access. A revoked
-- token stays, so that the audit trail can name it; its name may be given to a new one.
CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  token_hash    TEXT NOT NULL UNIQUE,   -- 64 lowercase hex digits
  created_at    INTEGER NOT NULL,
  created_by    TEXT NOT NULL,
  expires_at    INTEGER,
  last_used_at  INTEGER,                -- to the minute
  revoked_at    INTEGER
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;
