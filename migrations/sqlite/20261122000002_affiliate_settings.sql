-- The Affiliate Program page: one settings row, exactly five link slots, and an audit trail.
CREATE TABLE affiliate_settings (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    program_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped by every save; a save carrying an older version is refused (two admins editing).
    version         BIGINT  NOT NULL DEFAULT 0,
    updated_at      TEXT,
    updated_by      TEXT
);
INSERT INTO affiliate_settings (id) VALUES (1);

CREATE TABLE affiliate_links (
    -- The slots are Link 1 to Link 5; the CHECK makes a sixth impossible at the database too.
    slot    INTEGER PRIMARY KEY CHECK (slot BETWEEN 1 AND 5),
    url     TEXT    NOT NULL DEFAULT '' CHECK (length(url) <= 2048),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    mode    TEXT    NOT NULL DEFAULT 'server' CHECK (mode IN ('server', 'pixel'))
);
INSERT INTO affiliate_links (slot) VALUES (1), (2), (3), (4), (5);

CREATE TABLE affiliate_settings_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    changed_at TEXT    NOT NULL,
    changed_by TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    -- JSON of the page's state before and after the save.
    before     TEXT    NOT NULL,
    after      TEXT    NOT NULL
);
CREATE INDEX affiliate_settings_audit_recent ON affiliate_settings_audit (id DESC);
