//! Each admin's authenticator secret (sealed) and recovery codes (keyed hashes).

use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::{BeginWrite, Db};
use crate::with_pool;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MfaRow {
    pub secret_sealed: String,
    pub last_used_step: Option<i64>,
    pub enabled_at: Option<DateTime<Utc>>,
}

impl MfaRow {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

pub async fn get(db: &Db, admin_id: i64) -> Result<Option<MfaRow>, sqlx::Error> {
    const SQL: &str =
        "SELECT secret_sealed, last_used_step, enabled_at FROM admin_mfa WHERE admin_id = $1";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(admin_id).fetch_optional(pool).await)
}

/// Begins an enrolment with a new secret, replacing one begun before and not confirmed. An
/// enabled secret is left alone (`false`): it is replaced only after a reset.
pub async fn begin(
    db: &Db,
    admin_id: i64,
    secret_sealed: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO admin_mfa (admin_id, secret_sealed, created_at) VALUES ($1, $2, $3) \
        ON CONFLICT (admin_id) DO UPDATE SET secret_sealed = $2, created_at = $3, last_used_step = NULL \
        WHERE admin_mfa.enabled_at IS NULL";
    let rows = with_pool!(db, pool => sqlx::query(SQL).bind(admin_id).bind(secret_sealed).bind(now)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(rows > 0)
}

/// Confirms an enrolment: the secret the code was checked against (`secret_sealed`, so a set-up
/// restarted meanwhile in another tab is not the one enabled) is enabled with the step of that
/// code, `code_hashes` become the admin's recovery codes (any earlier ones are removed), and the
/// admin's sessions end (a new epoch, returned: the caller's session carries on with it), since
/// one opened with the password alone should not outlive the change. `None` when there was no
/// such unconfirmed enrolment.
pub async fn enable(
    db: &Db,
    admin_id: i64,
    secret_sealed: &str,
    step: i64,
    code_hashes: &[String],
    audit: &AuditEvent,
) -> Result<Option<i64>, sqlx::Error> {
    let now = audit.at;
    const ENABLE: &str = "UPDATE admin_mfa SET enabled_at = $2, last_used_step = $3 \
        WHERE admin_id = $1 AND enabled_at IS NULL AND secret_sealed = $4";
    const EPOCH: &str =
        "UPDATE admins SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch";
    const CLEAR: &str = "DELETE FROM admin_recovery_codes WHERE admin_id = $1";
    const ADD: &str = "INSERT INTO admin_recovery_codes (admin_id, code_hash) VALUES ($1, $2)";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let enabled = sqlx::query(ENABLE).bind(admin_id).bind(now).bind(step).bind(secret_sealed)
            .execute(&mut *tx).await?.rows_affected();
        if enabled == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query(CLEAR).bind(admin_id).execute(&mut *tx).await?;
        for hash in code_hashes {
            sqlx::query(ADD).bind(admin_id).bind(hash).execute(&mut *tx).await?;
        }
        let epoch: i64 = sqlx::query_scalar(EPOCH).bind(admin_id).fetch_one(&mut *tx).await?;
        crate::record_audit!(&mut *tx, audit)?;
        tx.commit().await?;
        Ok(Some(epoch))
    })
}

/// Records `step` as used, when it is later than the last one used: of two logins with the same
/// code only one gets `true`.
pub async fn use_step(db: &Db, admin_id: i64, step: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE admin_mfa SET last_used_step = $2 WHERE admin_id = $1 \
        AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $2)";
    let rows = with_pool!(db, pool => sqlx::query(SQL).bind(admin_id).bind(step)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(rows > 0)
}

/// Uses up the recovery code with this hash; `false` when it is not one of the admin's unused
/// codes.
pub async fn use_recovery_code(
    db: &Db,
    admin_id: i64,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE admin_recovery_codes SET used_at = $3 \
        WHERE admin_id = $1 AND code_hash = $2 AND used_at IS NULL";
    let rows = with_pool!(db, pool => sqlx::query(SQL).bind(admin_id).bind(code_hash).bind(now)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(rows > 0)
}

/// How many of the admin's recovery codes are unused.
pub async fn recovery_codes_left(db: &Db, admin_id: i64) -> Result<i64, sqlx::Error> {
    const SQL: &str =
        "SELECT COUNT(*) FROM admin_recovery_codes WHERE admin_id = $1 AND used_at IS NULL";
    with_pool!(db, pool => sqlx::query_scalar(SQL).bind(admin_id).fetch_one(pool).await)
}
