-- Conversions over their whole life: a reversal link, reply rules and conditions per link;
-- reversals of reported signups; reversal deliveries beside signup deliveries.

ALTER TABLE affiliate_links ADD COLUMN reversal_url TEXT NOT NULL DEFAULT ''
    CHECK (length(reversal_url) <= 2048);
-- Delivered means 2xx and, when set, a reply that contains the one and not the other.
ALTER TABLE affiliate_links ADD COLUMN success_contains TEXT NOT NULL DEFAULT '';
ALTER TABLE affiliate_links ADD COLUMN success_not_contains TEXT NOT NULL DEFAULT '';
-- JSON of domain::conditions::ConditionsInput; {} fires for every counted signup.
ALTER TABLE affiliate_links ADD COLUMN conditions TEXT NOT NULL DEFAULT '{}';

-- What each link did for the signup (JSON: [{"link", "fired", "detail"}]): fired as a server
-- call or a pixel, or skipped by its conditions, with the reason.
ALTER TABLE signups ADD COLUMN link_outcomes TEXT NOT NULL DEFAULT '[]';

CREATE TABLE reversals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    signup_id    BIGINT NOT NULL REFERENCES signups (id),
    -- The caller's reversal_id: a repeat gets the first answer, another body a 409.
    reversal_key TEXT   NOT NULL,
    reason       TEXT   NOT NULL CHECK (reason IN ('refund', 'chargeback', 'cancellation')),
    amount       TEXT   NOT NULL,
    reversed_at  TEXT   NOT NULL,
    request_hash TEXT   NOT NULL,
    -- The 201 answer as sent (JSON), with each link's step.
    answer       TEXT   NOT NULL,
    created_at   TEXT   NOT NULL,
    UNIQUE (signup_id, reversal_key)
);
CREATE INDEX reversals_recent ON reversals (signup_id);

-- SQLite cannot change a CHECK in place: the deliveries table (two more states, the reversal
-- columns) and its attempts are copied into new tables. Renaming the new deliveries table
-- points the attempts' foreign key at it.
CREATE TABLE deliveries_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    signup_id        BIGINT  NOT NULL REFERENCES signups (id),
    slot             INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 5),
    kind             TEXT    NOT NULL DEFAULT 'signup' CHECK (kind IN ('signup', 'reversal')),
    reversal_id      BIGINT  REFERENCES reversals (id),
    -- A held reversal delivery waits for this signup delivery's call to end.
    parent_id        BIGINT  REFERENCES deliveries_new (id),
    -- Rendered at intake: a later edit of the link does not change what this delivery sends.
    url              TEXT    NOT NULL,
    host             TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN
        ('pending', 'delivered', 'failing', 'failed', 'exhausted', 'cancelled', 'held')),
    tries            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    -- A worker's claim; a claim whose worker died expires and the delivery is claimed again.
    lease_until      TEXT,
    last_error       TEXT,
    delivered_at     TEXT,
    created_at       TEXT    NOT NULL,
    -- A reversal arrived while this delivery's call was under way: unless that call is
    -- delivered, the delivery ends cancelled.
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    -- The link's reply rules when the delivery was queued, as its URL is.
    success_contains     TEXT NOT NULL DEFAULT '',
    success_not_contains TEXT NOT NULL DEFAULT ''
);
INSERT INTO deliveries_new (id, signup_id, slot, url, host, state, tries, next_attempt_at,
    lease_until, last_error, delivered_at, created_at)
SELECT id, signup_id, slot, url, host, state, tries, next_attempt_at, lease_until, last_error,
    delivered_at, created_at FROM deliveries;

CREATE TABLE delivery_attempts_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id   BIGINT  NOT NULL REFERENCES deliveries_new (id),
    started_at    TEXT    NOT NULL,
    duration_ms   BIGINT  NOT NULL,
    status_code   INTEGER,
    body_excerpt  TEXT    NOT NULL,
    error_kind    TEXT,
    error_message TEXT
);
INSERT INTO delivery_attempts_new (id, delivery_id, started_at, duration_ms, status_code,
    body_excerpt, error_kind, error_message)
SELECT id, delivery_id, started_at, duration_ms, status_code, body_excerpt, error_kind,
    error_message FROM delivery_attempts;

DROP TABLE delivery_attempts;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
ALTER TABLE delivery_attempts_new RENAME TO delivery_attempts;

CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_signup ON deliveries (signup_id);
-- The worker's claim order (see 20261122000005_link_health.sql).
CREATE INDEX deliveries_claimable ON deliveries (next_attempt_at)
    WHERE state IN ('pending', 'failing');
CREATE INDEX deliveries_held ON deliveries (parent_id) WHERE state = 'held';
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id);
