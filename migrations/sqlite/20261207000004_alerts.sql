-- Alerts (issue 20): where they go, each link's watch and incidents, and every alert as a
-- delivery that is retried until it is sent (app/src/server/storage/alerts.rs).

-- Settings → Alerts: one row. The SMTP password is sealed like the Explodely key.
CREATE TABLE alert_settings (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    email_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    smtp_host        TEXT    NOT NULL DEFAULT '',
    smtp_port        INTEGER NOT NULL DEFAULT 587,
    smtp_tls         TEXT    NOT NULL DEFAULT 'starttls' CHECK (smtp_tls IN ('starttls', 'tls', 'none')),
    smtp_username    TEXT    NOT NULL DEFAULT '',
    smtp_password    TEXT,
    sender           TEXT    NOT NULL DEFAULT '',
    -- One address per line.
    recipients       TEXT    NOT NULL DEFAULT '',
    webhook_enabled  BOOLEAN NOT NULL DEFAULT FALSE,
    webhook_url      TEXT    NOT NULL DEFAULT '',
    -- Failed calls in a row that open an incident.
    failures_to_open INTEGER NOT NULL DEFAULT 5 CHECK (failures_to_open BETWEEN 1 AND 100),
    updated_at       TEXT,
    updated_by       TEXT
);
INSERT INTO alert_settings (id) VALUES (1);

-- What the watcher keeps per link between calls (app/src/domain/incidents.rs).
CREATE TABLE link_watches (
    slot              INTEGER PRIMARY KEY,
    failures_in_a_row INTEGER NOT NULL DEFAULT 0,
    failing_since     TEXT
);
INSERT INTO link_watches (slot) VALUES (1), (2), (3), (4), (5);

CREATE TABLE incidents (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    slot      INTEGER NOT NULL,
    opened_at TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    -- When a message about it was last queued (the opening, or the last reminder).
    told_at   TEXT    NOT NULL,
    closed_at TEXT
);
-- At most one open incident per link.
CREATE UNIQUE INDEX incidents_open ON incidents (slot) WHERE closed_at IS NULL;
CREATE INDEX incidents_by_time ON incidents (opened_at);

-- One message to one channel.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     INTEGER REFERENCES incidents (id),
    -- The link the incident is about (NULL for a test): its alerts go out in order.
    slot            INTEGER,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'webhook')),
    event           TEXT    NOT NULL CHECK (event IN ('opened', 'reminder', 'closed', 'test')),
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    -- The webhook's JSON body.
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'failing', 'delivered', 'exhausted', 'failed')),
    tries           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    lease_until     TEXT,
    -- What the mail server or the webhook answered last, or why it could not be reached.
    last_answer     TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX alerts_due ON alerts (next_attempt_at) WHERE state IN ('pending', 'failing');
CREATE INDEX alerts_by_time ON alerts (created_at);

-- The audit log records who changed the alert settings: its kinds gain 'alerts_saved' (SQLite
-- cannot change a CHECK, so the table is rebuilt with its rows).
CREATE TABLE audit_events_new (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('login', 'login_failed', 'logout', 'password_changed', 'mfa_enabled', 'mfa_reset', 'admin_created', 'admin_disabled', 'admin_enabled', 'admin_password_reset', 'admin_sessions_ended', 'token_created', 'token_revoked', 'explodely_saved', 'affiliate_saved', 'contract_created', 'contract_retry_confirmed', 'delivery_retried', 'alerts_saved')),
    actor     TEXT NOT NULL,
    address   TEXT NOT NULL,
    summary   TEXT NOT NULL
);
INSERT INTO audit_events_new (id, at, kind, actor, address, summary)
    SELECT id, at, kind, actor, address, summary FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_kind ON audit_events (kind, at);
CREATE INDEX audit_events_by_actor ON audit_events (actor, at);
