-- The audit log: every security and settings event, written in the same transaction as the
-- change it records. 'actor' is the admin (or the username typed at a failed login, or
-- 'command line'); 'address' the client's. Kept AFFDESK_AUDIT_DAYS (365) days.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('login', 'login_failed', 'logout', 'password_changed', 'mfa_enabled', 'mfa_reset', 'admin_created', 'admin_disabled', 'admin_enabled', 'admin_password_reset', 'admin_sessions_ended', 'token_created', 'token_revoked', 'explodely_saved', 'affiliate_saved', 'contract_created', 'contract_retry_confirmed', 'delivery_retried')),
    actor     TEXT NOT NULL,
    address   TEXT NOT NULL,
    summary   TEXT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_kind ON audit_events (kind, at);
CREATE INDEX audit_events_by_actor ON audit_events (actor, at);
