//! The overview page's reads: the hourly counters of signups and of each link's calls over 30
//! days (at most 30 × 24 and 5 × 30 rows, however busy the days were).

use crate::server::storage::db::Db;
use crate::with_pool;

/// (hour, counted, not counted, reversed) from `from_hour` on.
pub async fn signup_hours(
    db: &Db,
    from_hour: i64,
) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
    const SQL: &str = "SELECT hour, CAST(counted AS BIGINT), CAST(not_counted AS BIGINT), \
        CAST(reversed AS BIGINT) FROM signup_hours WHERE hour >= $1 ORDER BY hour";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(from_hour).fetch_all(pool).await)
}

/// (link, day, delivered, failed tries, given up) per link and day from `from_hour` on.
pub async fn link_days(
    db: &Db,
    from_hour: i64,
) -> Result<Vec<(i32, i64, i64, i64, i64)>, sqlx::Error> {
    const SQL: &str = "SELECT slot, CAST(hour / 24 AS BIGINT) AS day, \
        CAST(SUM(delivered) AS BIGINT), CAST(SUM(failed_tries) AS BIGINT), \
        CAST(SUM(given_up) AS BIGINT) FROM link_hours WHERE hour >= $1 \
        GROUP BY slot, hour / 24 ORDER BY slot, day";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(from_hour).fetch_all(pool).await)
}
