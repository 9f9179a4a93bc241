-- Login attempts are now counted per (username, address) pair, per address and per device
-- (a browser that logged in before); the username alone no longer locks an admin out.
ALTER TABLE login_failures DROP CONSTRAINT login_failures_scope_check;
ALTER TABLE login_failures
    ADD CONSTRAINT login_failures_scope_check
    CHECK (scope IN ('username', 'address', 'pair', 'device'));
