-- Signups reported to the intake API, their server-to-server deliveries and every attempt.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);

CREATE TABLE signups (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id           TEXT    NOT NULL UNIQUE,
    -- Canonical request body hash: an identical repeat gets the original answer, another body 409.
    request_hash       TEXT    NOT NULL,
    account_id         TEXT    NOT NULL,
    user_name          TEXT    NOT NULL,
    payment_method     TEXT    NOT NULL,
    moderated          BOOLEAN NOT NULL,
    trial              BOOLEAN NOT NULL,
    eligible           BOOLEAN NOT NULL,
    reason             TEXT    NOT NULL,
    -- Every field as accepted (JSON), and the 201 answer as sent (JSON).
    details            TEXT    NOT NULL,
    answer             TEXT    NOT NULL,
    -- The signup-complete page's random token and its expiry.
    public_token       TEXT    NOT NULL UNIQUE,
    public_expires_at  TEXT    NOT NULL,
    pixel_urls         TEXT    NOT NULL,
    created_at         TEXT    NOT NULL
);
CREATE INDEX signups_recent ON signups (id DESC);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    signup_id       BIGINT  NOT NULL REFERENCES signups (id),
    slot            INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 5),
    -- Rendered at intake: a later edit of the link does not change what this delivery sends.
    url             TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failing', 'failed', 'exhausted')),
    tries           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    -- A worker's claim; a claim whose worker died expires and the delivery is claimed again.
    lease_until     TEXT,
    last_error      TEXT,
    delivered_at    TEXT,
    created_at      TEXT    NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_signup ON deliveries (signup_id);

CREATE TABLE delivery_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id   BIGINT  NOT NULL REFERENCES deliveries (id),
    started_at    TEXT    NOT NULL,
    duration_ms   BIGINT  NOT NULL,
    status_code   INTEGER,
    body_excerpt  TEXT    NOT NULL,
    error_kind    TEXT,
    error_message TEXT
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id);
