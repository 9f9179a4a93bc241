//! The audit log, as its page shows it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub at: String,
    /// The stored kind (`login_failed`), for the filter.
    pub kind: String,
    /// How the page names it ("Failed login").
    pub kind_label: String,
    pub actor: String,
    pub address: String,
    pub summary: String,
}

/// One page of the log (newest first) and what its filters can choose from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// (stored kind, label) of every kind.
    pub kinds: Vec<(String, String)>,
    /// Everyone who appears in the log.
    pub actors: Vec<String>,
    /// 1-based.
    pub page: i64,
    pub more: bool,
}
