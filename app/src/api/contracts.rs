//! Server functions of Settings → Explodely and the affiliate contract pages.

// `create_contract` takes the form's fields as its arguments, so a plain HTML form (no
// JavaScript) can post to it; the `#[server]` macro does not carry a per-function allow over to
// the browser build.
#![allow(clippy::too_many_arguments)]

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::contracts::{
    ContractAttemptView, ContractView, ContractsOverview, ExplodelySettingsView, PostedContractForm,
};

#[server(endpoint = "explodely_settings")]
pub async fn explodely_settings() -> Result<ExplodelySettingsView, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::contracts::settings(&deps()?).await?)
}

/// Saves the username, and the API key when one is typed (an empty key keeps the stored one).
#[server(endpoint = "save_explodely_settings")]
pub async fn save_explodely_settings(username: String, api_key: String) -> Result<(), ApiError> {
    use super::context::{current_admin, deps};
    use crate::domain::explodely::CredentialsInput;
    let admin = current_admin()?;
    let input = CredentialsInput { username, api_key };
    crate::service::contracts::save_settings(&deps()?, &admin.actor(), input).await?;
    leptos_axum::redirect("/settings/explodely?saved=1");
    Ok(())
}

/// A fresh key for one rendering of the contract form.
#[server(endpoint = "contract_form_key")]
pub async fn contract_form_key() -> Result<String, ApiError> {
    super::context::current_admin()?;
    Ok(crate::server::security::tokens::random_token(16))
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
    /// Ticked after an attempt with this key ended with its outcome unknown, once the admin has
    /// checked that Explodely has no such contract.
    confirmed_not_created: Option<String>,
) -> Result<i64, ApiError> {
    use super::context::{current_admin, deps};
    use crate::domain::contract::ContractInput;
    use crate::model::contracts::created_path;
    let admin = current_admin()?;
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
    let deps = deps()?;
    let confirmed = confirmed_not_created.is_some();
    let id = crate::service::contracts::create(
        &deps,
        &admin.actor(),
        input,
        &idempotency_key,
        confirmed,
    )
    .await?;
    leptos_axum::redirect(&created_path(id.get()));
    Ok(id.get())
}

#[server(endpoint = "list_contracts")]
pub async fn list_contracts() -> Result<ContractsOverview, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::contracts::overview(&deps()?).await?)
}

#[server(endpoint = "contract_detail")]
pub async fn contract_detail(
    id: i64,
) -> Result<Option<(ContractView, Vec<ContractAttemptView>)>, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::contracts::detail(&deps()?, id.into()).await?)
}
