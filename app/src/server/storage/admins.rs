//! The admins table.

use crate::domain::credentials::Username;
use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::{BeginWrite, Db};
use crate::with_pool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub session_epoch: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(i64),
    UsernameTaken,
}

const SELECT_ADMIN: &str =
    "SELECT id, username, password_hash, must_change_password, session_epoch FROM admins";

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    with_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM admins").fetch_one(pool).await)
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<AdminRecord>, sqlx::Error> {
    let sql = format!("{SELECT_ADMIN} WHERE username = $1");
    with_pool!(db, pool => sqlx::query_as(&sql).bind(username).fetch_optional(pool).await)
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<AdminRecord>, sqlx::Error> {
    let sql = format!("{SELECT_ADMIN} WHERE id = $1");
    with_pool!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// Inserts an admin unless the username exists. Concurrent first starts of several instances
/// race here; `ON CONFLICT` lets exactly one win without an error.
/// Records `audit` with it.
pub async fn create(
    db: &Db,
    username: &Username,
    password_hash: &str,
    must_change_password: bool,
    audit: &AuditEvent,
) -> Result<CreateOutcome, sqlx::Error> {
    const SQL: &str = "INSERT INTO admins \
        (username, password_hash, must_change_password, created_at, password_changed_at) \
        VALUES ($1, $2, $3, $4, $4) ON CONFLICT (username) DO NOTHING RETURNING id";
    let id: Option<i64> = with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(SQL)
            .bind(username.as_str())
            .bind(password_hash)
            .bind(must_change_password)
            .bind(audit.at)
            .fetch_optional(&mut *tx)
            .await?;
        if id.is_some() {
            crate::record_audit!(&mut *tx, audit)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    })?;
    Ok(id.map_or(CreateOutcome::UsernameTaken, CreateOutcome::Created))
}

/// Stores a new password hash and bumps the session epoch, which ends every session that was
/// opened with the old password; records `audit` with it. Returns the new epoch, or `None` for an
/// unknown admin.
pub async fn set_password(
    db: &Db,
    admin_id: i64,
    password_hash: &str,
    audit: &AuditEvent,
) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE admins SET password_hash = $1, must_change_password = FALSE, \
        session_epoch = session_epoch + 1, password_changed_at = $2 WHERE id = $3 \
        RETURNING session_epoch";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let epoch: Option<i64> = sqlx::query_scalar(SQL)
            .bind(password_hash)
            .bind(audit.at)
            .bind(admin_id)
            .fetch_optional(&mut *tx)
            .await?;
        if epoch.is_some() {
            crate::record_audit!(&mut *tx, audit)?;
        }
        tx.commit().await?;
        Ok(epoch)
    })
}
