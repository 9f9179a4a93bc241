-- Signups per hour (counted, not counted, reversed), kept as they are stored, so the overview
-- page reads at most 30 × 24 small rows however many signups came (app/src/domain/overview.rs).
CREATE TABLE signup_hours (
    -- Whole hours since the Unix epoch, UTC.
    hour        BIGINT PRIMARY KEY,
    counted     BIGINT NOT NULL DEFAULT 0,
    not_counted BIGINT NOT NULL DEFAULT 0,
    reversed    BIGINT NOT NULL DEFAULT 0
);

-- Carry over the last 31 days of what is already stored.
INSERT INTO signup_hours (hour, counted, not_counted, reversed)
SELECT hour, SUM(counted), SUM(not_counted), SUM(reversed) FROM (
    SELECT FLOOR(EXTRACT(EPOCH FROM created_at) / 3600)::BIGINT AS hour,
           CASE WHEN eligible THEN 1 ELSE 0 END AS counted,
           CASE WHEN eligible THEN 0 ELSE 1 END AS not_counted, 0 AS reversed
      FROM signups WHERE created_at > now() - INTERVAL '31 days'
    UNION ALL
    SELECT FLOOR(EXTRACT(EPOCH FROM created_at) / 3600)::BIGINT, 0, 0, 1
      FROM reversals WHERE created_at > now() - INTERVAL '31 days'
) AS recent GROUP BY hour;
