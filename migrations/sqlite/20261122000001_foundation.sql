-- Admin accounts and login throttling. Timestamps are RFC 3339 text written by affdesk itself.
CREATE TABLE admins (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT    NOT NULL UNIQUE,
    password_hash        TEXT    NOT NULL,
    -- Set for the one-time password printed at first start; cleared by a password change.
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped by every password change; a session carrying an older epoch is no longer valid.
    session_epoch        BIGINT  NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    password_changed_at  TEXT    NOT NULL
);

CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    scope     TEXT NOT NULL CHECK (scope IN ('username', 'address')),
    subject   TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE INDEX login_failures_by_subject ON login_failures (scope, subject, failed_at);
