//! Server functions of Settings → Explodely and the affiliate contract pages.

// `create_contract` takes the form's fields as its arguments, so a plain HTML form (no
// JavaScript) can post to it; the `#[server]` macro does not carry a per-function allow over to
// the browser build.
#![allow(clippy::too_many_arguments)]

use super::error::ApiError;
use crate::domain::contract::{KnownError, Reply};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplodelySettingsView {
    pub username: String,
    /// The API key's last four characters; the key itself never leaves the server.
    pub key_last4: Option<String>,
    pub updated: Option<String>,
    pub endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    pub id: i64,
    pub explodely_id: String,
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
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractAttemptView {
    pub outcome: String,
    pub summary: String,
    /// The request as sent, without username or API key.
    pub request: String,
    pub reply: String,
    pub admin: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractsOverview {
    pub contracts: Vec<ContractView>,
    pub failed: Vec<ContractAttemptView>,
}

/// What a reply means for the admin: where the message belongs.
pub fn reply_error(reply: &Reply) -> Option<ApiError> {
    match reply {
        Reply::Created { .. } => None,
        Reply::Refused(known) => Some(match known.field() {
            Some(field) => ApiError::invalid(field, known.message()),
            None => ApiError::Remote {
                message: known.message().to_owned(),
                settings_link: *known == KnownError::InvalidApiKey,
            },
        }),
        Reply::UnknownError(code) => Some(ApiError::Remote {
            message: format!("Explodely refused the contract with the error {code:?}, which its documentation does not describe. Nothing was created."),
            settings_link: false,
        }),
        Reply::Unexpected(why) => Some(ApiError::Remote {
            message: format!("{why}. Nothing was stored as created; your form is kept, so you can try again."),
            settings_link: false,
        }),
    }
}

#[cfg(feature = "ssr")]
fn summary(reply: &Reply) -> String {
    match reply {
        Reply::Created { contract_id } => format!("created as Explodely contract {contract_id}"),
        other => reply_error(other)
            .map(|e| {
                e.field_message("partner_username")
                    .or_else(|| e.field_message("commission"))
                    .unwrap_or_else(|| e.to_string())
            })
            .unwrap_or_default(),
    }
}

#[cfg(feature = "ssr")]
fn attempt_view(row: crate::server::contracts::AttemptRow) -> ContractAttemptView {
    let reply: Option<Reply> = row
        .message
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok());
    ContractAttemptView {
        outcome: row.outcome,
        summary: reply
            .as_ref()
            .map(summary)
            .unwrap_or_else(|| "still running".to_owned()),
        request: row.request,
        reply: row.reply.unwrap_or_default(),
        admin: row.admin,
        at: super::affiliate::format_time(row.started_at),
    }
}

#[cfg(feature = "ssr")]
fn contract_view(c: crate::server::contracts::ContractRow) -> ContractView {
    ContractView {
        id: c.id,
        explodely_id: c.explodely_contract_id,
        name: c.name,
        partner_username: c.partner_username,
        product: c.product,
        commission: c.commission,
        start_date: c.start_date,
        end_date: c.end_date,
        max_earnings: c.max_earnings,
        max_sales: c.max_sales,
        comments: c.comments,
        activate: c.activate,
        mutual_termination: c.mutual_termination,
        created_by: c.created_by,
        created_at: super::affiliate::format_time(c.created_at),
    }
}

#[server(endpoint = "explodely_settings")]
pub async fn explodely_settings() -> Result<ExplodelySettingsView, ApiError> {
    use super::context::{current_admin, internal, state};
    current_admin()?;
    let state = state()?;
    let row = crate::server::contracts::credentials(&state.db)
        .await
        .map_err(internal)?;
    Ok(ExplodelySettingsView {
        username: row.as_ref().map(|r| r.username.clone()).unwrap_or_default(),
        key_last4: row.as_ref().map(|r| r.api_key_last4.clone()),
        updated: row.map(|r| {
            format!(
                "{} by {}",
                super::affiliate::format_time(r.updated_at),
                r.updated_by
            )
        }),
        endpoint: state.explodely.url().to_owned(),
    })
}

/// Saves the username, and the API key when one is typed (an empty key field keeps the stored one).
#[server(endpoint = "save_explodely_settings")]
pub async fn save_explodely_settings(username: String, api_key: String) -> Result<(), ApiError> {
    use super::context::{current_admin, fail, internal, state};
    use crate::server::contracts;
    let admin = current_admin()?;
    let state = state()?;
    let username = username.trim().to_owned();
    let api_key = api_key.trim().to_owned();
    let mut errors = Vec::new();
    if username.is_empty()
        || username.chars().count() > 64
        || username.contains(char::is_whitespace)
    {
        errors.push(super::error::FieldError::new(
            "username",
            "enter your Explodely username (no spaces, at most 64 characters)",
        ));
    }
    let existing = contracts::credentials(&state.db).await.map_err(internal)?;
    if api_key.is_empty() && existing.is_none() {
        errors.push(super::error::FieldError::new(
            "api_key",
            "enter the API key from your Explodely account",
        ));
    } else if !api_key.is_empty()
        && (api_key.chars().count() < 8
            || api_key.chars().count() > 256
            || api_key.contains(char::is_whitespace))
    {
        errors.push(super::error::FieldError::new(
            "api_key",
            "an API key has 8 to 256 characters and no spaces",
        ));
    }
    if !errors.is_empty() {
        return Err(fail(ApiError::Invalid(errors)));
    }
    let sealed = (!api_key.is_empty()).then(|| {
        let last4: String = api_key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        (state.secrets.seal(&api_key), last4)
    });
    contracts::save_credentials(
        &state.db,
        &username,
        sealed,
        &admin.username,
        state.clock.now(),
    )
    .await
    .map_err(internal)?;
    tracing::info!(admin = %admin.username, "Explodely credentials saved");
    leptos_axum::redirect("/settings/explodely?saved=1");
    Ok(())
}

/// A fresh key for one rendering of the contract form.
#[server(endpoint = "contract_form_key")]
pub async fn contract_form_key() -> Result<String, ApiError> {
    super::context::current_admin()?;
    Ok(crate::server::session::random_token(16))
}

/// A contract form rendered for a plain form post (no JavaScript): what was posted, the error,
/// and a fresh key for the next, deliberate, submit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostedContractForm {
    pub input: crate::domain::contract::ContractInput,
    /// `None` for a fresh form.
    pub error: Option<ApiError>,
    pub key: String,
}

/// Creates a contract on Explodely, once per form key: a repeat of the same key (double click,
/// re-post) gets the first result and never calls Explodely again. Returns affdesk's contract id.
#[cfg(feature = "ssr")]
pub(crate) async fn create_contract_for(
    state: &crate::server::state::AppState,
    admin: &str,
    input: crate::domain::contract::ContractInput,
    idempotency_key: &str,
) -> Result<i64, ApiError> {
    use super::context::{fail, internal};
    use crate::server::contracts::{self, Begin};
    let contract = input.validate().map_err(|errors| {
        fail(ApiError::Invalid(
            errors
                .into_iter()
                .map(|e| super::error::FieldError::new(e.field, e.message))
                .collect(),
        ))
    })?;
    if idempotency_key.len() < 16
        || idempotency_key.len() > 64
        || !idempotency_key.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(fail(ApiError::Remote {
            message: "This form is out of date; reload the page and submit again.".to_owned(),
            settings_link: false,
        }));
    }
    let Some(credentials) = contracts::credentials(&state.db).await.map_err(internal)? else {
        return Err(fail(ApiError::Remote {
            message: "Enter your Explodely username and API key under Settings → Explodely first."
                .to_owned(),
            settings_link: true,
        }));
    };
    let api_key = state
        .secrets
        .open(&credentials.api_key_sealed)
        .map_err(|e| {
            fail(ApiError::Remote {
                message: format!("The stored Explodely API key cannot be read ({e})."),
                settings_link: true,
            })
        })?;
    let request = serde_json::to_string(&contract.form_fields()).map_err(internal)?;
    let now = state.clock.now();
    let reply = match contracts::begin_attempt(&state.db, idempotency_key, &request, admin, now)
        .await
        .map_err(internal)?
    {
        Begin::Existing(row) => {
            let row = if row.outcome == "running" {
                contracts::wait_for(&state.db, row.id)
                    .await
                    .map_err(internal)?
            } else {
                row
            };
            if let Some(id) = row.contract_id {
                return Ok(id);
            }
            row.message
                .as_deref()
                .and_then(|m| serde_json::from_str::<Reply>(m).ok())
                .unwrap_or_else(|| {
                    Reply::Unexpected("the first submit of this form is still running".to_owned())
                })
        }
        Begin::Started(attempt) => {
            let call = state
                .explodely
                .create_contract(&credentials.username, &api_key, &contract)
                .await;
            let outcome = match &call.reply {
                Reply::Created { .. } => "created",
                Reply::Refused(_) | Reply::UnknownError(_) => "refused",
                Reply::Unexpected(_) => "unexpected",
            };
            let created = match &call.reply {
                Reply::Created { contract_id } => Some((&contract, contract_id.as_str())),
                _ => None,
            };
            let message = serde_json::to_string(&call.reply).map_err(internal)?;
            let stored = contracts::finish_attempt(
                &state.db,
                attempt,
                outcome,
                &call.raw,
                Some(&message),
                created,
                admin,
                state.clock.now(),
            )
            .await
            .map_err(internal)?;
            tracing::info!(%admin, outcome, "Explodely createaffcontract attempt");
            if let Some(id) = stored {
                return Ok(id);
            }
            call.reply
        }
    };
    Err(fail(reply_error(&reply).unwrap_or(ApiError::Internal)))
}

/// The path a created contract is shown at.
pub fn created_path(id: i64) -> String {
    format!("/affiliate/contracts/{id}?created=1")
}

#[server(endpoint = "create_contract")]
pub async fn create_contract(
    contract_name: String,
    partner_username: String,
    product_choice: String,
    product_id: String,
    commission: String,
    start_date: String,
    end_date: String,
    max_earnings: String,
    max_sales: String,
    comments: String,
    activate: Option<String>,
    mutual_termination: Option<String>,
    idempotency_key: String,
) -> Result<i64, ApiError> {
    use crate::domain::contract::ContractInput;
    let admin = super::context::current_admin()?;
    let state = super::context::state()?;
    let input = ContractInput {
        contract_name,
        partner_username,
        product_choice,
        product_id,
        commission,
        start_date,
        end_date,
        max_earnings,
        max_sales,
        comments,
        activate: activate.is_some(),
        mutual_termination: mutual_termination.is_some(),
    };
    let id = create_contract_for(&state, &admin.username, input, &idempotency_key).await?;
    leptos_axum::redirect(&created_path(id));
    Ok(id)
}

#[server(endpoint = "list_contracts")]
pub async fn list_contracts() -> Result<ContractsOverview, ApiError> {
    use super::context::{current_admin, internal, state};
    use crate::server::contracts;
    current_admin()?;
    let state = state()?;
    let contracts = contracts::list(&state.db).await.map_err(internal)?;
    let failed = contracts::failed_attempts(&state.db, state.clock.now())
        .await
        .map_err(internal)?;
    Ok(ContractsOverview {
        contracts: contracts.into_iter().map(contract_view).collect(),
        failed: failed.into_iter().map(attempt_view).collect(),
    })
}

#[server(endpoint = "contract_detail")]
pub async fn contract_detail(
    id: i64,
) -> Result<Option<(ContractView, Vec<ContractAttemptView>)>, ApiError> {
    use super::context::{current_admin, internal, state};
    current_admin()?;
    let state = state()?;
    Ok(crate::server::contracts::get(&state.db, id)
        .await
        .map_err(internal)?
        .map(|(c, attempts)| {
            (
                contract_view(c),
                attempts.into_iter().map(attempt_view).collect(),
            )
        }))
}
