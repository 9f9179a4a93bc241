//! Reading signups and deliveries for the admin pages, and "Retry now".

use crate::domain::states::{DeliveryKind, DeliveryState};
use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::{BeginWrite, Db};
use crate::with_pool;
use chrono::{DateTime, Utc};

pub const PAGE_SIZE: i64 = 25;

/// The values the Signups list's "Delivery" filter takes, besides none.
pub const DELIVERY_FILTERS: [&str; 5] =
    ["pending", "delivered", "failing", "exhausted", "reversed"];

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub eligible: Option<bool>,
    /// Signups with a delivery in this state (`failing` also matches `failed`), or `reversed`
    /// for signups with a reversal; empty for all. One of [`DELIVERY_FILTERS`].
    pub delivery: &'static str,
    pub search: String,
    /// From 1.
    pub page: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignupRow {
    pub id: i64,
    pub order_id: String,
    pub account_id: String,
    pub user_name: String,
    pub payment_method: String,
    pub eligible: bool,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub delivered: i64,
    pub pending: i64,
    pub failing: i64,
    pub exhausted: i64,
    pub reversals: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignupRecord {
    pub id: i64,
    pub eligible: bool,
    pub reason: String,
    pub details: String,
    pub pixel_urls: String,
    pub link_outcomes: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub id: i64,
    pub slot: i32,
    #[sqlx(try_from = "String")]
    pub kind: DeliveryKind,
    pub url: String,
    #[sqlx(try_from = "String")]
    pub state: DeliveryState,
    pub tries: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status_code: Option<i32>,
    pub body_excerpt: String,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct LinkHealthRow {
    pub slot: i32,
    pub delivered: i64,
    pub failed_tries: i64,
    pub given_up: i64,
    pub failing_since: Option<DateTime<Utc>>,
}

/// `%term%` for LIKE, with the term's own wildcards taken literally.
fn like_pattern(term: &str) -> String {
    let escaped = term
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

const WHERE: &str = "WHERE ($1 IS NULL OR s.eligible = $1) \
    AND ($2 = '' OR LOWER(s.order_id) LIKE $3 ESCAPE '\\' OR LOWER(s.account_id) LIKE $3 ESCAPE '\\' \
         OR LOWER(s.user_name) LIKE $3 ESCAPE '\\') \
    AND ($4 = '' \
      OR ($4 = 'pending' AND EXISTS (SELECT 1 FROM deliveries d WHERE d.signup_id = s.id AND d.state = 'pending')) \
      OR ($4 = 'failing' AND EXISTS (SELECT 1 FROM deliveries d WHERE d.signup_id = s.id AND d.state IN ('failing', 'failed'))) \
      OR ($4 = 'exhausted' AND EXISTS (SELECT 1 FROM deliveries d WHERE d.signup_id = s.id AND d.state = 'exhausted')) \
      OR ($4 = 'delivered' AND EXISTS (SELECT 1 FROM deliveries d WHERE d.signup_id = s.id) \
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.signup_id = s.id AND d.state <> 'delivered')) \
      OR ($4 = 'reversed' AND EXISTS (SELECT 1 FROM reversals r WHERE r.signup_id = s.id)))";

/// One page of signups, newest first, and how many match in all.
pub async fn list(db: &Db, filter: &Filter) -> Result<(Vec<SignupRow>, i64), sqlx::Error> {
    let count_sql = format!("SELECT COUNT(*) FROM signups s {WHERE}");
    let list_sql = format!(
        "SELECT s.id, s.order_id, s.account_id, s.user_name, s.payment_method, s.eligible, s.reason, s.created_at, \
         (SELECT COUNT(*) FROM deliveries d WHERE d.signup_id = s.id AND d.state = 'delivered') AS delivered, \
         (SELECT COUNT(*) FROM deliveries d WHERE d.signup_id = s.id AND d.state = 'pending') AS pending, \
         (SELECT COUNT(*) FROM deliveries d WHERE d.signup_id = s.id AND d.state IN ('failing', 'failed')) AS failing, \
         (SELECT COUNT(*) FROM deliveries d WHERE d.signup_id = s.id AND d.state = 'exhausted') AS exhausted, \
         (SELECT COUNT(*) FROM reversals r WHERE r.signup_id = s.id) AS reversals \
         FROM signups s {WHERE} ORDER BY s.id DESC LIMIT $5 OFFSET $6"
    );
    let search = filter.search.trim();
    let pattern = like_pattern(search);
    let offset = (filter.page.max(1) - 1) * PAGE_SIZE;
    let delivery = filter.delivery;
    with_pool!(db, pool => {
        let total: i64 = sqlx::query_scalar(&count_sql)
            .bind(filter.eligible)
            .bind(search)
            .bind(&pattern)
            .bind(delivery)
            .fetch_one(pool)
            .await?;
        let rows: Vec<SignupRow> = sqlx::query_as(&list_sql)
            .bind(filter.eligible)
            .bind(search)
            .bind(&pattern)
            .bind(delivery)
            .bind(PAGE_SIZE)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        Ok((rows, total))
    })
}

pub async fn signup(
    db: &Db,
    id: i64,
) -> Result<Option<(SignupRecord, Vec<DeliveryRecord>, Vec<AttemptRecord>)>, sqlx::Error> {
    const SIGNUP: &str =
        "SELECT id, eligible, reason, details, pixel_urls, link_outcomes, created_at FROM signups WHERE id = $1";
    const DELIVERIES: &str =
        "SELECT id, slot, kind, url, state, tries, next_attempt_at, last_error, delivered_at \
        FROM deliveries WHERE signup_id = $1 ORDER BY id";
    const ATTEMPTS: &str = "SELECT a.delivery_id, a.started_at, a.duration_ms, a.status_code, a.body_excerpt, \
        a.error_kind, a.error_message FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id \
        WHERE d.signup_id = $1 ORDER BY a.id";
    with_pool!(db, pool => {
        let Some(signup): Option<SignupRecord> = sqlx::query_as(SIGNUP).bind(id).fetch_optional(pool).await? else {
            return Ok(None);
        };
        let deliveries = sqlx::query_as(DELIVERIES).bind(id).fetch_all(pool).await?;
        let attempts = sqlx::query_as(ATTEMPTS).bind(id).fetch_all(pool).await?;
        Ok(Some((signup, deliveries, attempts)))
    })
}

/// Makes a failing, failed or exhausted delivery due now. Returns false for any other delivery,
/// and for the signup call of a signup since reversed (its tracker must not hear of the sale now).
/// Records `audit` with it.
pub async fn retry_now(db: &Db, delivery_id: i64, audit: &AuditEvent) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "UPDATE deliveries SET state = 'failing', next_attempt_at = $1, lease_until = NULL \
        WHERE id = $2 AND state IN ('failing', 'failed', 'exhausted') \
        AND NOT (kind = 'signup' AND EXISTS (SELECT 1 FROM reversals r WHERE r.signup_id = deliveries.signup_id))";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due = sqlx::query(SQL).bind(audit.at).bind(delivery_id).execute(&mut *tx).await?.rows_affected() == 1;
        if due {
            crate::record_audit!(&mut *tx, audit)?;
        }
        tx.commit().await?;
        Ok(due)
    })
}

/// How many deliveries wait to be sent (pending, failing or held), and since when the oldest.
pub async fn pending_deliveries(db: &Db) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*), MIN(created_at) FROM deliveries \
        WHERE state IN ('pending', 'failing', 'held')";
    with_pool!(db, pool => sqlx::query_as(SQL).fetch_one(pool).await)
}

/// Per link, over the last 24 hours (by the hour): tries delivered, failed and given up, and
/// since when the link has been failing without a success. Reads the counters the delivery worker
/// keeps (at most 5 × 24 rows), not the deliveries. Links with nothing to report are left out.
pub async fn link_health(db: &Db, now: DateTime<Utc>) -> Result<Vec<LinkHealthRow>, sqlx::Error> {
    const SQL: &str = "SELECT l.slot, \
        CAST(COALESCE(SUM(h.delivered), 0) AS BIGINT) AS delivered, \
        CAST(COALESCE(SUM(h.failed_tries), 0) AS BIGINT) AS failed_tries, \
        CAST(COALESCE(SUM(h.given_up), 0) AS BIGINT) AS given_up, \
        l.failing_since \
        FROM affiliate_links l LEFT JOIN link_hours h ON h.slot = l.slot AND h.hour >= $1 \
        GROUP BY l.slot, l.failing_since ORDER BY l.slot";
    let from = crate::domain::link_health::window_start(now);
    let rows: Vec<LinkHealthRow> =
        with_pool!(db, pool => sqlx::query_as(SQL).bind(from).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter(|r| r.delivered + r.failed_tries + r.given_up > 0 || r.failing_since.is_some())
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_terms_match_literally() {
        assert_eq!(super::like_pattern("A_1%"), "%a\\_1\\%%");
    }
}
