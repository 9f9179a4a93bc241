-- Every call to the signup API, refused ones too (app/src/server/storage/intake_log.rs): kept 7
-- days or 10,000 calls, whichever is less; never the token, never the customer's email.
CREATE TABLE intake_calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT    NOT NULL,
    -- signup or reversal
    endpoint    TEXT    NOT NULL,
    -- The API token's name; NULL without a valid token.
    token_name  TEXT,
    order_id    TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    -- Whether the signup counted and why, the field errors, or what the refusal said.
    outcome     TEXT    NOT NULL,
    duration_ms BIGINT  NOT NULL
);
CREATE INDEX intake_calls_by_time ON intake_calls (received_at);
CREATE INDEX intake_calls_by_status ON intake_calls (status, id);
