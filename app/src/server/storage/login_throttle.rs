//! Stored login failures, per username and per client address, and the throttle check over them.

use crate::domain::throttle::{ThrottleDecision, ThrottlePolicy};
use crate::server::storage::db::Db;
use crate::with_pool;
use chrono::{DateTime, Utc};

const SCOPE_USERNAME: &str = "username";
const SCOPE_ADDRESS: &str = "address";

async fn failures_since(
    db: &Db,
    scope: &str,
    subject: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    const SQL: &str = "SELECT failed_at FROM login_failures \
        WHERE scope = $1 AND subject = $2 AND failed_at > $3";
    with_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(scope)
        .bind(subject)
        .bind(since)
        .fetch_all(pool)
        .await)
}

/// Refuses when either the username or the address is throttled, with the longer wait.
pub async fn check(
    db: &Db,
    policy: &ThrottlePolicy,
    username: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<ThrottleDecision, sqlx::Error> {
    let since = now - policy.window;
    let by_name = policy.decide(
        &failures_since(db, SCOPE_USERNAME, username, since).await?,
        now,
    );
    let by_address = policy.decide(
        &failures_since(db, SCOPE_ADDRESS, address, since).await?,
        now,
    );
    Ok(match (by_name, by_address) {
        (
            ThrottleDecision::Refused {
                retry_after_secs: a,
            },
            ThrottleDecision::Refused {
                retry_after_secs: b,
            },
        ) => ThrottleDecision::Refused {
            retry_after_secs: a.max(b),
        },
        (refused @ ThrottleDecision::Refused { .. }, _)
        | (_, refused @ ThrottleDecision::Refused { .. }) => refused,
        _ => ThrottleDecision::Allowed,
    })
}

/// Records one failed login against both the username and the address.
pub async fn record_failure(
    db: &Db,
    username: &str,
    address: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "INSERT INTO login_failures (scope, subject, failed_at) VALUES ($1, $2, $5), ($3, $4, $5)";
    with_pool!(db, pool => sqlx::query(SQL)
        .bind(SCOPE_USERNAME)
        .bind(username)
        .bind(SCOPE_ADDRESS)
        .bind(address)
        .bind(at)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// A successful login forgives the username's failures (not the address's: one address trying
/// many names is still suspicious).
pub async fn clear_username(db: &Db, username: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM login_failures WHERE scope = $1 AND subject = $2";
    with_pool!(db, pool => sqlx::query(SQL).bind(SCOPE_USERNAME).bind(username).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// Deletes failures too old to matter; run by the housekeeping task.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM login_failures WHERE failed_at < $1";
    with_pool!(db, pool => sqlx::query(SQL).bind(before).execute(pool).await.map(|r| r.rows_affected()))
}
