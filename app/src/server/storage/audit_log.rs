//! The audit log: who did what, when, from where. A change and its event are written in one
//! transaction ([`record_audit!`] inside the change's own), so the log never shows a change that
//! did not happen nor misses one that did.

use crate::domain::states::AuditKind;
use crate::server::storage::db::Db;
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};

/// One event, about to be written.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    /// The admin; at a failed login, the username typed; `command line` for the CLI.
    pub actor: String,
    /// The client's address (`local` for the CLI).
    pub address: String,
    /// What happened, in words, without any secret.
    pub summary: String,
}

/// Who acts: an admin from an address, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub address: String,
}

impl Actor {
    /// Commands run on the server (`affdesk admin …`, `affdesk token …`).
    pub fn command_line() -> Self {
        Self {
            name: "command line".to_owned(),
            address: "local".to_owned(),
        }
    }

    pub fn event(
        &self,
        kind: AuditKind,
        summary: impl Into<String>,
        at: DateTime<Utc>,
    ) -> AuditEvent {
        AuditEvent {
            at,
            kind,
            actor: self.name.clone(),
            address: self.address.clone(),
            summary: summary.into(),
        }
    }
}

pub const INSERT: &str =
    "INSERT INTO audit_events (at, kind, actor, address, summary) VALUES ($1, $2, $3, $4, $5)";

/// Writes an [`AuditEvent`] on `$conn` (a transaction's connection inside a `with_pool!` arm),
/// so it commits or rolls back with the change it records. Evaluates to `Result<(), sqlx::Error>`.
#[macro_export]
macro_rules! record_audit {
    ($conn:expr, $event:expr) => {{
        let event: &$crate::server::storage::audit_log::AuditEvent = $event;
        sqlx::query($crate::server::storage::audit_log::INSERT)
            .bind(event.at)
            .bind(event.kind.as_str())
            .bind(&event.actor)
            .bind(&event.address)
            .bind(&event.summary)
            .execute($conn)
            .await
            .map(|_| ())
    }};
}

/// Writes an event that goes with no other change (a login, a failed one, a logout).
pub async fn record(db: &Db, event: &AuditEvent) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => crate::record_audit!(pool, event))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub kind: AuditKind,
    pub actor: String,
    pub address: String,
    pub summary: String,
}

/// Which events a page of the log shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub kind: Option<AuditKind>,
    pub actor: Option<String>,
}

/// One page of events, newest first, and whether older ones follow.
pub async fn page(
    db: &Db,
    filter: &AuditFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AuditRow>, bool), sqlx::Error> {
    const SQL: &str = "SELECT id, at, kind, actor, address, summary FROM audit_events \
        WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR actor = $2) \
        ORDER BY at DESC, id DESC LIMIT $3 OFFSET $4";
    let kind = filter.kind.map(|k| k.as_str());
    let offset = page.max(0) * per_page;
    let mut rows: Vec<AuditRow> = with_pool!(db, pool => sqlx::query_as(SQL)
        .bind(kind)
        .bind(filter.actor.as_deref())
        .bind(per_page + 1)
        .bind(offset)
        .fetch_all(pool)
        .await)?;
    let more = rows.len() as i64 > per_page;
    rows.truncate(per_page as usize);
    Ok((rows, more))
}

/// Everyone who did something in the log, for the page's filter. Names typed at failed logins
/// are left out: anyone can type any, and they would crowd out the admins.
pub async fn actors(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str = "SELECT DISTINCT actor FROM audit_events WHERE kind <> 'login_failed' \
        ORDER BY actor LIMIT 500";
    with_pool!(db, pool => sqlx::query_scalar(SQL).fetch_all(pool).await)
}

/// Deletes events older than `keep`; returns how many.
pub async fn forget_older_than(
    db: &Db,
    keep: TimeDelta,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM audit_events WHERE at < $1";
    with_pool!(db, pool => sqlx::query(SQL).bind(now - keep).execute(pool).await.map(|r| r.rows_affected()))
}
