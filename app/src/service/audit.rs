//! Settings → Audit log: the security and settings events, filtered and a page at a time.

use super::error::AppError;
use crate::domain::states::AuditKind;
use crate::model::affiliate::format_time;
use crate::model::audit::{AuditEventView, AuditPage};
use crate::server::storage::audit_log::{self, AuditFilter, AuditRow};
use crate::server::storage::db::Db;

/// Events a page shows.
pub const PER_PAGE: i64 = 50;

/// What the page asks for, as typed (empty filters mean "any").
pub struct AuditQuery {
    pub kind: String,
    pub actor: String,
    /// 1-based; anything below 1 is the first page.
    pub page: i64,
}

#[tracing::instrument(skip_all, fields(kind = %query.kind, page = query.page))]
pub async fn page(db: &Db, query: AuditQuery) -> Result<AuditPage, AppError> {
    let kind = match query.kind.trim() {
        "" => None,
        text => Some(AuditKind::parse(text).ok_or_else(|| {
            AppError::invalid(
                "kind",
                format!("{text:?} is not a kind of audit event; choose one from the list"),
            )
        })?),
    };
    let actor = Some(query.actor.trim().to_owned()).filter(|a| !a.is_empty());
    // Past page 100,000 there is nothing (5 million events), and the offset stays in range.
    let page = query.page.clamp(1, 100_000);
    let filter = AuditFilter { kind, actor };
    let (rows, more) = audit_log::page(db, &filter, page - 1, PER_PAGE).await?;
    Ok(AuditPage {
        events: rows.into_iter().map(view).collect(),
        kinds: AuditKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
            .collect(),
        actors: audit_log::actors(db).await?,
        page,
        more,
    })
}

fn view(row: AuditRow) -> AuditEventView {
    AuditEventView {
        at: format_time(row.at),
        kind: row.kind.as_str().to_owned(),
        kind_label: row.kind.label().to_owned(),
        actor: row.actor,
        address: row.address,
        summary: row.summary,
    }
}
