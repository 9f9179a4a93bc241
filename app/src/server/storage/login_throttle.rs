//! Stored login attempts that failed (or are still being verified), per subject (the
//! (username, address) pair, the address, or a device), and the throttle check over them.
//! Stored, not kept in memory, so every affdesk instance on the database sees them.

use crate::domain::throttle::{stricter, Scope, ThrottleDecision, ThrottlePolicy};
use crate::server::storage::db::Db;
use crate::with_pool;
use chrono::{DateTime, Utc};

async fn failures_since(
    db: &Db,
    scope: Scope,
    subject: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    const SQL: &str = "SELECT failed_at FROM login_failures \
        WHERE scope = $1 AND subject = $2 AND failed_at > $3";
    with_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(scope.as_str())
        .bind(subject)
        .bind(since)
        .fetch_all(pool)
        .await)
}

/// Refuses when any subject is throttled, with the longest wait.
pub async fn check(
    db: &Db,
    policy: &ThrottlePolicy,
    subjects: &[(Scope, String)],
    now: DateTime<Utc>,
) -> Result<ThrottleDecision, sqlx::Error> {
    let since = now - policy.window;
    let mut decision = ThrottleDecision::Allowed;
    for (scope, subject) in subjects {
        let failures = failures_since(db, *scope, subject, since).await?;
        decision = stricter(decision, policy.decide(&failures, now));
    }
    Ok(decision)
}

/// Counts an attempt against every subject before its password is checked, so attempts under
/// way count too; a successful one is taken back with [`forget`]. Returns the rows written.
pub async fn record_attempt(
    db: &Db,
    subjects: &[(Scope, String)],
    at: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str =
        "INSERT INTO login_failures (scope, subject, failed_at) VALUES ($1, $2, $3) RETURNING id";
    let mut ids = Vec::with_capacity(subjects.len());
    for (scope, subject) in subjects {
        let id: i64 = with_pool!(db, pool => sqlx::query_scalar(SQL)
            .bind(scope.as_str())
            .bind(subject)
            .bind(at)
            .fetch_one(pool)
            .await)?;
        ids.push(id);
    }
    Ok(ids)
}

/// Takes back the rows of an attempt that succeeded (or was never checked), in one statement.
pub async fn forget(db: &Db, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    with_pool!(db, pool => {
        let mut delete = sqlx::QueryBuilder::new("DELETE FROM login_failures WHERE id IN (");
        let mut list = delete.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        delete.build().execute(pool).await.map(|_| ())
    })
}

/// A successful login forgives the failures of its own subject (the pair or the device), not
/// the address's: one address trying many names is still suspicious.
pub async fn clear(db: &Db, scope: Scope, subject: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM login_failures WHERE scope = $1 AND subject = $2";
    with_pool!(db, pool => sqlx::query(SQL).bind(scope.as_str()).bind(subject).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// Deletes failures too old to matter; run by the housekeeping task.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM login_failures WHERE failed_at < $1";
    with_pool!(db, pool => sqlx::query(SQL).bind(before).execute(pool).await.map(|r| r.rows_affected()))
}
