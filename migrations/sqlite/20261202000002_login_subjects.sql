-- Login attempts are now counted per (username, address) pair, per address and per device
-- (a browser that logged in before); the username alone no longer locks an admin out. SQLite
-- cannot change a CHECK in place, so the small table is copied.
CREATE TABLE login_failures_new (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    scope     TEXT NOT NULL CHECK (scope IN ('username', 'address', 'pair', 'device')),
    subject   TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
INSERT INTO login_failures_new (id, scope, subject, failed_at)
    SELECT id, scope, subject, failed_at FROM login_failures;
DROP TABLE login_failures;
ALTER TABLE login_failures_new RENAME TO login_failures;
CREATE INDEX login_failures_by_subject ON login_failures (scope, subject, failed_at);
