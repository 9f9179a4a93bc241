-- Settings -> Admins: an admin can be disabled (their sessions end, they cannot log in), the
-- list shows each admin's last login, and each login is a row here until it ends, so the page
-- can count an admin's active sessions (the session store keeps them opaque).
ALTER TABLE admins ADD COLUMN disabled_at TIMESTAMPTZ;
ALTER TABLE admins ADD COLUMN last_login_at TIMESTAMPTZ;

CREATE TABLE admin_sessions (
    -- A random id kept in the session's own data (never the session id).
    login_id      TEXT        PRIMARY KEY,
    admin_id      BIGINT      NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    -- The admin's session epoch at login: a later password change or "end sessions" leaves
    -- this row counting nothing.
    epoch         BIGINT      NOT NULL,
    address       TEXT        NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX admin_sessions_by_admin ON admin_sessions (admin_id);
