//! Explodely credentials, contract attempts and created contracts.

use crate::domain::contract::{explodely_date, Contract, Product};
use crate::domain::states::ContractAttemptOutcome;
use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::BeginWrite;
use crate::server::storage::db::Db;
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialsRow {
    pub username: String,
    pub api_key_sealed: String,
    pub api_key_last4: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub outcome: ContractAttemptOutcome,
    pub request: String,
    pub reply: Option<String>,
    pub message: Option<String>,
    pub contract_id: Option<i64>,
    pub admin: String,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContractRow {
    pub id: i64,
    pub explodely_contract_id: String,
    pub name: String,
    pub partner_username: String,
    pub product: String,
    pub commission: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub max_earnings: Option<String>,
    pub max_sales: Option<i64>,
    pub comments: Option<String>,
    pub activate: bool,
    pub mutual_termination: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn credentials(db: &Db) -> Result<Option<CredentialsRow>, sqlx::Error> {
    const SQL: &str = "SELECT username, api_key_sealed, api_key_last4, updated_at, updated_by FROM explodely_settings WHERE id = 1";
    with_pool!(db, pool => sqlx::query_as(SQL).fetch_optional(pool).await)
}

pub async fn save_credentials(
    db: &Db,
    username: &str,
    sealed_and_last4: Option<(String, String)>,
    audit: &AuditEvent,
) -> Result<(), sqlx::Error> {
    let (admin, now) = (audit.actor.as_str(), audit.at);
    const INSERT: &str = "INSERT INTO explodely_settings (id, username, api_key_sealed, api_key_last4, updated_at, updated_by) \
        VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET username = $1, api_key_sealed = $2, \
        api_key_last4 = $3, updated_at = $4, updated_by = $5";
    const KEEP_KEY: &str = "UPDATE explodely_settings SET username = $1, updated_at = $2, updated_by = $3 WHERE id = 1";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        match &sealed_and_last4 {
            Some((sealed, last4)) => sqlx::query(INSERT)
                .bind(username)
                .bind(sealed)
                .bind(last4)
                .bind(now)
                .bind(admin)
                .execute(&mut *tx)
                .await?,
            None => sqlx::query(KEEP_KEY).bind(username).bind(now).bind(admin).execute(&mut *tx).await?,
        };
        crate::record_audit!(&mut *tx, audit)?;
        tx.commit().await
    })
}

pub enum Begin {
    /// This submit owns the call.
    Started(i64),
    /// A submit with this key exists (a double click or a re-post): its attempt.
    Existing(AttemptRow),
}

const SELECT_ATTEMPT: &str = "SELECT id, outcome, request, reply, message, contract_id, admin, started_at FROM contract_attempts";

pub async fn begin_attempt(
    db: &Db,
    key: &str,
    request: &str,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<Begin, sqlx::Error> {
    const SQL: &str =
        "INSERT INTO contract_attempts (idempotency_key, outcome, request, admin, started_at) \
        VALUES ($1, 'running', $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
    let id: Option<i64> = with_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(key).bind(request).bind(admin).bind(now).fetch_optional(pool).await)?;
    match id {
        Some(id) => Ok(Begin::Started(id)),
        None => {
            let sql = format!("{SELECT_ATTEMPT} WHERE idempotency_key = $1");
            let row: AttemptRow =
                with_pool!(db, pool => sqlx::query_as(&sql).bind(key).fetch_one(pool).await)?;
            Ok(Begin::Existing(row))
        }
    }
}

/// Frees `key` from an attempt whose outcome is unknown, once the admin has confirmed that
/// Explodely has no such contract: the attempt stays in the history under its key with its id
/// appended. Returns whether there was one; of two concurrent confirmations only one frees it.
/// Records `audit` with it.
pub async fn set_aside_unknown(
    db: &Db,
    key: &str,
    audit: &AuditEvent,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE contract_attempts SET idempotency_key = idempotency_key || '-' || CAST(id AS TEXT) \
        WHERE idempotency_key = $1 AND outcome = 'unknown'";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let freed = sqlx::query(SQL).bind(key).execute(&mut *tx).await?.rows_affected() > 0;
        if freed {
            crate::record_audit!(&mut *tx, audit)?;
        }
        tx.commit().await?;
        Ok(freed)
    })
}

/// Waits (up to a little longer than a call can take) for a running attempt to finish.
pub async fn wait_for(db: &Db, attempt_id: i64) -> Result<AttemptRow, sqlx::Error> {
    let sql = format!("{SELECT_ATTEMPT} WHERE id = $1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let row: AttemptRow =
            with_pool!(db, pool => sqlx::query_as(&sql).bind(attempt_id).fetch_one(pool).await)?;
        if row.outcome != ContractAttemptOutcome::Running || tokio::time::Instant::now() > deadline
        {
            return Ok(row);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How an attempt ended: the outcome, the reply as received, what it meant (JSON), and the
/// contract with Explodely's id when one was created.
pub struct Finished<'a> {
    pub outcome: ContractAttemptOutcome,
    pub reply: &'a str,
    pub message: Option<String>,
    pub created: Option<(&'a Contract, &'a str)>,
}

/// Records the outcome; for a created contract, stores it and `audit` in the same transaction.
pub async fn finish_attempt(
    db: &Db,
    attempt_id: i64,
    finished: Finished<'_>,
    audit: &AuditEvent,
) -> Result<Option<i64>, sqlx::Error> {
    let (admin, now) = (audit.actor.as_str(), audit.at);
    let Finished {
        outcome,
        reply,
        message,
        created,
    } = finished;
    const INSERT_CONTRACT: &str = "INSERT INTO contracts (explodely_contract_id, name, partner_username, product, \
        commission, start_date, end_date, max_earnings, max_sales, comments, activate, mutual_termination, \
        created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id";
    const FINISH: &str =
        "UPDATE contract_attempts SET outcome = $1, reply = $2, message = $3, contract_id = $4, \
        finished_at = $5 WHERE id = $6";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let contract_id: Option<i64> = match created {
            Some((c, explodely_id)) => Some(
                sqlx::query_scalar(INSERT_CONTRACT)
                    .bind(explodely_id)
                    .bind(&c.name)
                    .bind(&c.partner_username)
                    .bind(match &c.product { Product::All => "allproducts".to_owned(), Product::Id(id) => id.clone() })
                    .bind(&c.commission)
                    .bind(c.start_date.map(explodely_date))
                    .bind(c.end_date.map(explodely_date))
                    .bind(&c.max_earnings)
                    .bind(c.max_sales.map(|n| n as i64))
                    .bind(&c.comments)
                    .bind(c.activate)
                    .bind(c.mutual_termination)
                    .bind(admin)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?,
            ),
            None => None,
        };
        sqlx::query(FINISH)
            .bind(outcome.as_str())
            .bind(reply)
            .bind(message.as_deref())
            .bind(contract_id)
            .bind(now)
            .bind(attempt_id)
            .execute(&mut *tx)
            .await?;
        if contract_id.is_some() {
            crate::record_audit!(&mut *tx, audit)?;
        }
        tx.commit().await?;
        Ok(contract_id)
    })
}

const SELECT_CONTRACT: &str = "SELECT id, explodely_contract_id, name, partner_username, product, commission, start_date, \
    end_date, max_earnings, max_sales, comments, activate, mutual_termination, created_by, created_at FROM contracts";

pub async fn list(db: &Db) -> Result<Vec<ContractRow>, sqlx::Error> {
    let sql = format!("{SELECT_CONTRACT} ORDER BY id DESC LIMIT 500");
    with_pool!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)
}

pub async fn get(db: &Db, id: i64) -> Result<Option<(ContractRow, Vec<AttemptRow>)>, sqlx::Error> {
    let contract_sql = format!("{SELECT_CONTRACT} WHERE id = $1");
    let attempts_sql = format!("{SELECT_ATTEMPT} WHERE contract_id = $1 ORDER BY id");
    with_pool!(db, pool => {
        let Some(c): Option<ContractRow> = sqlx::query_as(&contract_sql).bind(id).fetch_optional(pool).await? else {
            return Ok(None);
        };
        let attempts = sqlx::query_as(&attempts_sql).bind(id).fetch_all(pool).await?;
        Ok(Some((c, attempts)))
    })
}

/// Attempts that created nothing, newest first (the last 30 days).
pub async fn failed_attempts(db: &Db, now: DateTime<Utc>) -> Result<Vec<AttemptRow>, sqlx::Error> {
    let sql = format!("{SELECT_ATTEMPT} WHERE outcome IN ('refused', 'unexpected', 'unknown') AND started_at > $1 ORDER BY id DESC LIMIT 50");
    with_pool!(db, pool => sqlx::query_as(&sql).bind(now - TimeDelta::days(30)).fetch_all(pool).await)
}
