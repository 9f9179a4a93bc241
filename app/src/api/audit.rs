//! The server function of Settings → Audit log.

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::audit::{AuditEventView, AuditPage};

/// One page of the audit log, newest first; `kind` and `admin` filter it when not empty.
#[server(endpoint = "audit_log")]
pub async fn audit_log(kind: String, admin: String, page: i64) -> Result<AuditPage, ApiError> {
    use super::context::{current_admin, deps};
    use crate::server::storage::db::Db;
    use crate::service::audit::{self, AuditQuery};
    current_admin()?;
    let db = deps::<Db>()?;
    let query = AuditQuery {
        kind,
        actor: admin,
        page,
    };
    Ok(audit::page(&db, query).await?)
}
