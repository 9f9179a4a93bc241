//! The admins table.

use crate::domain::credentials::Username;
use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::{BeginWrite, Db};
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub session_epoch: i64,
    /// Disabled admins cannot log in; their sessions ended when they were disabled.
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(i64),
    UsernameTaken,
}

const SELECT_ADMIN: &str =
    "SELECT id, username, password_hash, must_change_password, session_epoch, \
    (disabled_at IS NOT NULL) AS disabled FROM admins";

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

/// An admin as Settings → Admins lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminListRow {
    pub id: i64,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub mfa: bool,
    /// Logins still open: not ended, idle less than the idle timeout, younger than the lifetime.
    pub sessions: i64,
}

/// Every admin, by username, with their active sessions counted as of `now`.
pub async fn list(
    db: &Db,
    now: DateTime<Utc>,
    idle: TimeDelta,
    lifetime: TimeDelta,
) -> Result<Vec<AdminListRow>, sqlx::Error> {
    const SQL: &str = "SELECT a.id, a.username, a.created_at, a.last_login_at, \
        (a.disabled_at IS NOT NULL) AS disabled, \
        EXISTS (SELECT 1 FROM admin_mfa m WHERE m.admin_id = a.id AND m.enabled_at IS NOT NULL) AS mfa, \
        (SELECT COUNT(*) FROM admin_sessions s WHERE s.admin_id = a.id AND s.epoch = a.session_epoch \
            AND s.last_seen_at > $1 AND s.started_at > $2) AS sessions \
        FROM admins a ORDER BY a.username";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(now - idle).bind(now - lifetime).fetch_all(pool).await)
}

/// A login: the admin's last login time, a row for the new session (`login_id`), and `audit`,
/// in one transaction.
pub async fn record_login(
    db: &Db,
    admin: &AdminRecord,
    login_id: &str,
    audit: &AuditEvent,
) -> Result<(), sqlx::Error> {
    const LAST: &str = "UPDATE admins SET last_login_at = $1 WHERE id = $2";
    const SESSION: &str = "INSERT INTO admin_sessions \
        (login_id, admin_id, epoch, address, started_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5)";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(LAST).bind(audit.at).bind(admin.id).execute(&mut *tx).await?;
        sqlx::query(SESSION)
            .bind(login_id)
            .bind(admin.id)
            .bind(admin.session_epoch)
            .bind(&audit.address)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
        crate::record_audit!(&mut *tx, audit)?;
        tx.commit().await
    })
}

/// The session `login_id` was used at `now`.
pub async fn touch_login(db: &Db, login_id: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE admin_sessions SET last_seen_at = $1 WHERE login_id = $2";
    with_pool!(db, pool => sqlx::query(SQL).bind(now).bind(login_id).execute(pool).await.map(|_| ()))
}

/// The session `login_id` carries on under the admin's new `epoch` (it made the change that ended
/// the others).
pub async fn carry_login(
    db: &Db,
    login_id: &str,
    epoch: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE admin_sessions SET epoch = $1, last_seen_at = $2 WHERE login_id = $3";
    with_pool!(db, pool => sqlx::query(SQL).bind(epoch).bind(now).bind(login_id).execute(pool).await.map(|_| ()))
}

/// The session `login_id` ended (logout).
pub async fn end_login(db: &Db, login_id: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM admin_sessions WHERE login_id = $1";
    with_pool!(db, pool => sqlx::query(SQL).bind(login_id).execute(pool).await.map(|_| ()))
}

/// Forgets sessions idle since `idle_before` or started before `started_before`: over anyway.
pub async fn prune_logins(
    db: &Db,
    idle_before: DateTime<Utc>,
    started_before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM admin_sessions WHERE last_seen_at < $1 OR started_at < $2";
    with_pool!(db, pool => sqlx::query(SQL).bind(idle_before).bind(started_before)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// What came of a change to an admin's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    Done,
    /// No admin has that id.
    Unknown,
    /// Disabling them would leave no admin who can log in.
    LastActive,
}

/// What [`change_account`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Disable,
    Enable,
    /// A new (one-time) password hash: it must be changed at the next login.
    ResetPassword(String),
    EndSessions,
    /// Two-step login off: the authenticator secret and the recovery codes removed.
    ResetMfa,
}

/// Disables or enables an admin, resets their password or their two-step login, or ends their
/// sessions, with `audit`, in one transaction. Every change but enabling ends the admin's sessions (a new epoch). Disabling
/// is refused when no other admin could still log in; concurrent changes take turns (SQLite's
/// write lock; a table lock on PostgreSQL), so two admins disabling each other cannot both win.
pub async fn change_account(
    db: &Db,
    admin_id: i64,
    change: Change,
    audit: &AuditEvent,
) -> Result<AccountChange, sqlx::Error> {
    const OTHERS_ACTIVE: &str =
        "SELECT COUNT(*) FROM admins WHERE disabled_at IS NULL AND id <> $1";
    const DISABLE: &str =
        "UPDATE admins SET disabled_at = $2, session_epoch = session_epoch + 1 WHERE id = $1";
    const ENABLE: &str = "UPDATE admins SET disabled_at = NULL WHERE id = $1";
    const RESET: &str = "UPDATE admins SET password_hash = $2, must_change_password = TRUE, \
        session_epoch = session_epoch + 1, password_changed_at = $3 WHERE id = $1";
    const END: &str = "UPDATE admins SET session_epoch = session_epoch + 1 WHERE id = $1";
    const FORGET: &str = "DELETE FROM admin_sessions WHERE admin_id = $1";
    const NO_SECRET: &str = "DELETE FROM admin_mfa WHERE admin_id = $1";
    const NO_CODES: &str = "DELETE FROM admin_recovery_codes WHERE admin_id = $1";
    let lock =
        matches!(db, Db::Postgres(_)).then_some("LOCK TABLE admins IN SHARE ROW EXCLUSIVE MODE");
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        if let Some(lock) = lock {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        if change == Change::Disable {
            let others: i64 = sqlx::query_scalar(OTHERS_ACTIVE).bind(admin_id).fetch_one(&mut *tx).await?;
            if others == 0 {
                tx.rollback().await?;
                return Ok(AccountChange::LastActive);
            }
        }
        let changed = match &change {
            Change::Disable => sqlx::query(DISABLE).bind(admin_id).bind(audit.at).execute(&mut *tx).await?,
            Change::Enable => sqlx::query(ENABLE).bind(admin_id).execute(&mut *tx).await?,
            Change::ResetPassword(hash) => sqlx::query(RESET).bind(admin_id).bind(hash).bind(audit.at).execute(&mut *tx).await?,
            Change::EndSessions => sqlx::query(END).bind(admin_id).execute(&mut *tx).await?,
            Change::ResetMfa => {
                sqlx::query(NO_SECRET).bind(admin_id).execute(&mut *tx).await?;
                sqlx::query(NO_CODES).bind(admin_id).execute(&mut *tx).await?;
                sqlx::query(END).bind(admin_id).execute(&mut *tx).await?
            }
        }
        .rows_affected();
        if changed == 0 {
            tx.rollback().await?;
            return Ok(AccountChange::Unknown);
        }
        if change != Change::Enable {
            sqlx::query(FORGET).bind(admin_id).execute(&mut *tx).await?;
        }
        crate::record_audit!(&mut *tx, audit)?;
        tx.commit().await?;
        Ok(AccountChange::Done)
    })
}
