-- Multi-factor login (TOTP, RFC 6238): one authenticator secret per admin, sealed with the
-- secret key like the Explodely API key, and ten single-use recovery codes stored as keyed
-- hashes. A row with enabled_at NULL is an enrolment begun and not yet confirmed with a code.
CREATE TABLE admin_mfa (
    admin_id        BIGINT PRIMARY KEY REFERENCES admins (id) ON DELETE CASCADE,
    secret_sealed   TEXT        NOT NULL,
    -- The last time step whose code was accepted: a code is never accepted twice.
    last_used_step  BIGINT,
    created_at      TIMESTAMPTZ NOT NULL,
    enabled_at      TIMESTAMPTZ
);

CREATE TABLE admin_recovery_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id   BIGINT      NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    code_hash  TEXT        NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX admin_recovery_codes_by_admin ON admin_recovery_codes (admin_id);
