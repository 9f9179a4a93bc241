//! Server functions of the Affiliate Program page.

use super::error::{ApiError, FieldError};
use crate::domain::affiliate::{AffiliateInput, ConfigError};
use crate::domain::call::CallOutcome;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
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
    pub notice: Option<(String, String)>,
    pub test_results: Vec<(usize, CallOutcome)>,
}

pub fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The field errors of a refused configuration, one per slot (`link-1` … `link-5`).
pub fn config_error_fields(err: &ConfigError) -> Vec<FieldError> {
    match err {
        ConfigError::WrongSlotCount { .. } => vec![FieldError::new("links", err.to_string())],
        ConfigError::InvalidSlots(slots) => slots
            .iter()
            .map(|(n, e)| FieldError::new(format!("link-{n}"), format!("Link {n}: {e}")))
            .collect(),
    }
}

#[cfg(feature = "ssr")]
pub(crate) async fn load_state(
    state: &crate::server::state::AppState,
) -> Result<AffiliateState, ApiError> {
    use super::context::internal;
    let settings = state
        .affiliate_settings
        .snapshot(&state.db)
        .await
        .map_err(internal)?;
    let history = settings
        .history
        .iter()
        .map(|r| HistoryEntry {
            at: format_time(r.changed_at),
            by: r.changed_by.clone(),
            changes: r.before.describe_changes(&r.after),
        })
        .collect();
    let now = state.clock.now();
    let health = crate::server::signup_queries::link_health(&state.db, now)
        .await
        .map_err(internal)?;
    Ok(AffiliateState {
        input: settings.stored.input.clone(),
        version: settings.stored.version,
        history,
        health: super::signups::health_views(health, now),
    })
}

/// Validates and saves, all or nothing, if nobody saved since `version` was loaded.
#[cfg(feature = "ssr")]
pub(crate) async fn save_state(
    state: &crate::server::state::AppState,
    admin: &str,
    input: &AffiliateInput,
    version: i64,
) -> Result<AffiliateState, ApiError> {
    use super::context::{fail, internal};
    use crate::server::affiliate_store::{self, SaveOutcome};
    input
        .validate()
        .map_err(|e| fail(ApiError::Invalid(config_error_fields(&e))))?;
    match affiliate_store::save(&state.db, input, version, admin, state.clock.now())
        .await
        .map_err(internal)?
    {
        SaveOutcome::Saved { version } => {
            tracing::info!(%admin, version, "affiliate program settings saved");
            load_state(state).await
        }
        SaveOutcome::Conflict { current } => Err(fail(ApiError::Conflict {
            by: current
                .updated_by
                .unwrap_or_else(|| "another admin".to_owned()),
            at: current.updated_at.map(format_time).unwrap_or_default(),
        })),
    }
}

#[server(endpoint = "affiliate_settings")]
pub async fn affiliate_settings() -> Result<AffiliateState, ApiError> {
    super::context::current_admin()?;
    load_state(&super::context::state()?).await
}

#[server(endpoint = "save_affiliate_settings", input = Json)]
pub async fn save_affiliate_settings(
    input: AffiliateInput,
    version: i64,
) -> Result<AffiliateState, ApiError> {
    let admin = super::context::current_admin()?;
    save_state(&super::context::state()?, &admin.username, &input, version).await
}

/// Renders `url` (saved or not) with the sample signup and calls it through the guarded client.
#[server(endpoint = "send_test_link", input = Json)]
pub async fn send_test_link(url: String) -> Result<CallOutcome, ApiError> {
    super::context::current_admin()?;
    let state = super::context::state()?;
    send_test(&state, &url).await
}

#[cfg(feature = "ssr")]
pub(crate) async fn send_test(
    state: &crate::server::state::AppState,
    url: &str,
) -> Result<CallOutcome, ApiError> {
    use super::context::fail;
    use crate::domain::link_template::{LinkTemplate, SignupValues};
    let template = match LinkTemplate::parse_slot(url) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(fail(ApiError::invalid(
                "url",
                "the link is empty; there is nothing to send",
            )))
        }
        Err(e) => return Err(fail(ApiError::invalid("url", e.to_string()))),
    };
    let rendered = template.render(&SignupValues::sample());
    Ok(state.outbound.get(&rendered, &[]).await)
}
