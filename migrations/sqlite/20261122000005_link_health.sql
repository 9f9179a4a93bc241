-- Per-link health kept as deliveries finish (app/src/domain/link_health.rs), so the Affiliate
-- Program page reads a few small rows instead of recounting every delivery of the day.

-- Finished tries per link and hour.
CREATE TABLE link_hours (
    slot         INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 5),
    -- Whole hours since the Unix epoch, UTC.
    hour         INTEGER NOT NULL,
    delivered    INTEGER NOT NULL DEFAULT 0,
    -- Every try that failed, including those after which the delivery was given up.
    failed_tries INTEGER NOT NULL DEFAULT 0,
    given_up     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (slot, hour)
);

-- The first failure since the link's last success; NULL while it succeeds.
ALTER TABLE affiliate_links ADD COLUMN failing_since TEXT;

-- Carry over the last two days of what is already stored.
INSERT INTO link_hours (slot, hour, delivered, failed_tries, given_up)
SELECT slot, hour, SUM(delivered), SUM(failed_tries), SUM(given_up) FROM (
    SELECT slot, CAST(strftime('%s', delivered_at) AS INTEGER) / 3600 AS hour,
           1 AS delivered, 0 AS failed_tries, 0 AS given_up
      FROM deliveries WHERE state = 'delivered' AND delivered_at > strftime('%Y-%m-%dT%H:%M:%S', 'now', '-2 days')
    UNION ALL
    SELECT slot, CAST(strftime('%s', next_attempt_at) AS INTEGER) / 3600, 0, 0, 1
      FROM deliveries WHERE state IN ('failed', 'exhausted')
       AND next_attempt_at > strftime('%Y-%m-%dT%H:%M:%S', 'now', '-2 days')
    UNION ALL
    SELECT d.slot, CAST(strftime('%s', a.started_at) AS INTEGER) / 3600, 0, 1, 0
      FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
     WHERE (a.error_kind IS NOT NULL OR a.status_code IS NULL OR a.status_code NOT BETWEEN 200 AND 299)
       AND a.started_at > strftime('%Y-%m-%dT%H:%M:%S', 'now', '-2 days')
) GROUP BY slot, hour;

UPDATE affiliate_links SET failing_since = (
    SELECT MIN(d.created_at) FROM deliveries d
     WHERE d.slot = affiliate_links.slot AND d.state IN ('failing', 'failed', 'exhausted')
       AND d.created_at > COALESCE(
           (SELECT MAX(s.delivered_at) FROM deliveries s WHERE s.slot = affiliate_links.slot), '')
);

-- The worker's claim takes due deliveries in time order. With two states in its IN list, the
-- (state, next_attempt_at) index gives no single order, so every claim sorted the whole backlog:
-- with 100,000 pending, PostgreSQL claimed about 600 a second. This index is in claim order.
CREATE INDEX deliveries_claimable ON deliveries (next_attempt_at)
    WHERE state IN ('pending', 'failing');
