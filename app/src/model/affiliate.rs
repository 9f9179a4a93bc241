//! What the Affiliate Program page shows and sends.

use super::error::FieldError;
use crate::domain::affiliate::{AffiliateInput, ConfigError};
use crate::domain::call::CallOutcome;
use crate::domain::states::NoticeKind;
use serde::{Deserialize, Serialize};

/// One saved change, for the page's "last five changes" list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub by: String,
    pub changes: Vec<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffiliateState {
    pub input: AffiliateInput,
    /// The version this input was loaded at; a save carries it back.
    pub version: i64,
    pub history: Vec<HistoryEntry>,
    /// Each link's deliveries over the last 24 hours, loaded with the settings so the page has
    /// one source of data (no resource nested inside another's content).
    pub health: Vec<super::signups::LinkHealthView>,
}

/// A page rendered for a plain form post (no JavaScript): what was posted, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedAffiliateForm {
    pub state: AffiliateState,
    pub token: String,
    pub target: usize,
    pub notice: Option<(NoticeKind, String)>,
    pub test_results: Vec<(usize, CallOutcome)>,
    /// The links (1-5) whose reversal link, reply rules and conditions are shown: the page
    /// builds that section only for these (and, with JavaScript, when it is opened).
    #[serde(default)]
    pub opened: Vec<usize>,
}

pub fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The field errors of a refused configuration, one per field (`link-1`, `reversal-2`, …).
pub fn config_error_fields(err: &ConfigError) -> Vec<FieldError> {
    match err {
        ConfigError::WrongSlotCount { .. } => vec![FieldError::new("links", err.to_string())],
        ConfigError::InvalidSlots(problems) => problems
            .iter()
            .map(|p| {
                FieldError::new(
                    format!("{}-{}", p.field.id(), p.slot),
                    format!("Link {}{}: {}", p.slot, p.field.label(), p.message),
                )
            })
            .collect(),
    }
}
