//! Server functions of Settings → Alerts.

// The settings form's fields are the function's arguments, so a plain HTML form (no JavaScript)
// can post to it; the `#[server]` macro does not carry a per-function allow to the browser build.
#![allow(clippy::too_many_arguments)]

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::alerts::{AlertsOverview, TestAlertOutcome};

#[server(endpoint = "alerts_overview")]
pub async fn alerts_page() -> Result<AlertsOverview, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::alerts::overview(&deps()?).await?)
}

/// Saves where alerts go; an empty password keeps the stored one. Checkboxes arrive only when
/// ticked.
#[server(endpoint = "save_alert_settings")]
pub async fn save_alert_settings(
    email_enabled: Option<String>,
    smtp_host: String,
    smtp_port: String,
    smtp_tls: String,
    smtp_username: String,
    smtp_password: String,
    sender: String,
    recipients: String,
    webhook_enabled: Option<String>,
    webhook_url: String,
    failures_to_open: String,
) -> Result<(), ApiError> {
    use super::context::{current_admin, deps};
    use crate::domain::alerts::AlertSettingsInput;
    let admin = current_admin()?;
    let input = AlertSettingsInput {
        email_enabled: email_enabled.is_some(),
        smtp_host,
        smtp_port,
        smtp_tls,
        smtp_username,
        smtp_password,
        sender,
        recipients,
        webhook_enabled: webhook_enabled.is_some(),
        webhook_url,
        failures_to_open,
    };
    crate::service::alerts::save(&deps()?, &admin.actor(), input).await?;
    leptos_axum::redirect("/settings/alerts?saved=1");
    Ok(())
}

/// Sends a test alert by `channel` (`email` or `webhook`) with the saved settings; the page
/// then shows what the server answered.
#[server(endpoint = "send_test_alert")]
pub async fn send_test_alert(channel: String) -> Result<TestAlertOutcome, ApiError> {
    use super::context::{current_admin, deps};
    let admin = current_admin()?;
    let outcome = crate::service::alerts::send_test(&deps()?, &admin.actor(), &channel).await?;
    leptos_axum::redirect(&format!("/settings/alerts?test={}", outcome.alert_id));
    Ok(outcome)
}
