-- Explodely credentials (the API key encrypted at rest) and affiliate referral contracts.
CREATE TABLE explodely_settings (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    username         TEXT NOT NULL,
    -- XChaCha20-Poly1305: hex of nonce || ciphertext; the key is AFFDESK_SECRET_KEY or the key file.
    api_key_sealed   TEXT NOT NULL,
    api_key_last4    TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT NOT NULL
);

-- One row per submit of the contract form; the form's idempotency key makes a double submit
-- return the first result instead of calling Explodely twice.
CREATE TABLE contract_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key  TEXT NOT NULL UNIQUE,
    -- 'running', 'created', 'refused' or 'unexpected'.
    outcome          TEXT NOT NULL,
    -- The request as sent, without username or API key (JSON).
    request          TEXT NOT NULL,
    reply            TEXT,
    message          TEXT,
    contract_id      BIGINT,
    admin            TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT
);

CREATE TABLE contracts (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    explodely_contract_id  TEXT NOT NULL,
    name                   TEXT NOT NULL,
    partner_username       TEXT NOT NULL,
    product                TEXT NOT NULL,
    commission             TEXT NOT NULL,
    start_date             TEXT,
    end_date               TEXT,
    max_earnings           TEXT,
    max_sales              BIGINT,
    comments               TEXT,
    activate               BOOLEAN NOT NULL,
    mutual_termination     BOOLEAN NOT NULL,
    created_by             TEXT NOT NULL,
    created_at             TEXT NOT NULL
);
