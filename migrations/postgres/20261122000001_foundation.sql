-- Admin accounts and login throttling.
CREATE TABLE admins (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             TEXT        NOT NULL UNIQUE,
    password_hash        TEXT        NOT NULL,
    -- Set for the one-time password printed at first start; cleared by a password change.
    must_change_password BOOLEAN     NOT NULL DEFAULT FALSE,
    -- Bumped by every password change; a session carrying an older epoch is no longer valid.
    session_epoch        BIGINT      NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL,
    password_changed_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE login_failures (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope     TEXT        NOT NULL CHECK (scope IN ('username', 'address')),
    subject   TEXT        NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_by_subject ON login_failures (scope, subject, failed_at);
