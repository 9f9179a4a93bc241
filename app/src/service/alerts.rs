//! Settings → Alerts: saving where alerts go, sending a test alert, and what the page shows.

use super::error::AppError;
use crate::domain::alerts::{keeps_password, test_message, AlertSettingsInput, Channel};
use crate::domain::states::{AuditKind, DeliveryState};
use crate::model::affiliate::format_time;
use crate::model::alerts::{
    AlertHistoryEntry, AlertSettingsView, AlertsOverview, IncidentView, TestAlertOutcome,
};
use crate::model::error::ApiError;
use crate::server::storage::alerts::{self, HistoryRow, IncidentRow, SettingsRow};
use crate::server::storage::audit_log::Actor;
use crate::server::worker::alerts::{attempt, unusable, AlertContext};
use crate::server::worker::delivery::lease_for;

/// The most alerts and incidents the page lists.
const HISTORY: i64 = 50;
const INCIDENTS: i64 = 20;

fn settings_view(row: SettingsRow, ctx: &AlertContext) -> AlertSettingsView {
    AlertSettingsView {
        email_enabled: row.email_enabled,
        smtp_port: row.smtp_port.to_string(),
        smtp_tls: row.smtp_tls.as_str().to_owned(),
        password_stored: row.smtp_password.is_some(),
        updated: row.updated_at.map(|at| {
            format!(
                "{} by {}",
                format_time(at),
                row.updated_by.clone().unwrap_or_default()
            )
        }),
        links_to_affdesk: ctx.page_url.is_some(),
        smtp_host: row.smtp_host,
        smtp_username: row.smtp_username,
        sender: row.sender,
        recipients: row.recipients,
        webhook_enabled: row.webhook_enabled,
        webhook_url: row.webhook_url,
        failures_to_open: row.failures_to_open.to_string(),
    }
}

fn history_entry(row: HistoryRow) -> AlertHistoryEntry {
    AlertHistoryEntry {
        id: row.id,
        incident_id: row.incident_id,
        next_try: (row.state == "failing").then(|| format_time(row.next_attempt_at)),
        channel: row.channel,
        event: row.event,
        subject: row.subject,
        state: row.state,
        tries: row.tries,
        answer: row.last_answer,
        created: format_time(row.created_at),
        sent: row.sent_at.map(format_time),
    }
}

pub(super) fn incident_view(row: IncidentRow) -> IncidentView {
    IncidentView {
        id: row.id,
        link: row.slot,
        reason: row.reason,
        opened: format_time(row.opened_at),
        closed: row.closed_at.map(format_time),
    }
}

#[tracing::instrument(skip_all)]
pub async fn overview(ctx: &AlertContext) -> Result<AlertsOverview, AppError> {
    let (settings, incidents, history) = tokio::try_join!(
        alerts::settings(&ctx.db),
        alerts::incidents(&ctx.db, INCIDENTS),
        alerts::history(&ctx.db, HISTORY)
    )?;
    Ok(AlertsOverview {
        settings: settings_view(settings, ctx),
        incidents: incidents.into_iter().map(incident_view).collect(),
        history: history.into_iter().map(history_entry).collect(),
    })
}

/// Saves the settings; an empty password keeps the stored one.
#[tracing::instrument(skip_all, fields(admin = %actor.name))]
pub async fn save(
    ctx: &AlertContext,
    actor: &Actor,
    input: AlertSettingsInput,
) -> Result<(), AppError> {
    let stored = alerts::settings(&ctx.db).await?;
    // The stored password is kept only for the server and username it was typed for: whoever
    // points the settings at another server must know it (or Send test would hand it over).
    let saved = AlertSettingsInput {
        smtp_host: stored.smtp_host.clone(),
        smtp_port: stored.smtp_port.to_string(),
        smtp_tls: stored.smtp_tls.as_str().to_owned(),
        smtp_username: stored.smtp_username.clone(),
        ..AlertSettingsInput::default()
    };
    let keep_password = stored.smtp_password.is_some() && keeps_password(&saved, &input);
    let settings = input.validate(keep_password).map_err(ApiError::Invalid)?;
    let sealed = settings
        .email
        .password
        .as_deref()
        .map(|p| ctx.secrets.seal(p));
    let on_off = |on: bool| if on { "on" } else { "off" };
    let summary = format!(
        "Alerts by email {} ({} recipients{}), by webhook {}",
        on_off(settings.email.enabled),
        settings.email.recipients.len(),
        if sealed.is_some() {
            ", new SMTP password"
        } else {
            ""
        },
        on_off(settings.webhook_enabled),
    );
    let audit = actor.event(AuditKind::AlertsSaved, summary, ctx.clock.now());
    alerts::save_settings(&ctx.db, &settings, sealed, &audit).await?;
    tracing::info!(admin = %actor.name, "alert settings saved");
    Ok(())
}

/// Sends a test alert by `channel` with the saved settings, now, and answers with what the mail
/// server or webhook said. It is kept in the history, and tried once.
#[tracing::instrument(skip_all, fields(admin = %actor.name, channel = channel))]
pub async fn send_test(
    ctx: &AlertContext,
    actor: &Actor,
    channel: &str,
) -> Result<TestAlertOutcome, AppError> {
    let Some(channel) = Channel::parse(channel) else {
        return Err(AppError::invalid("channel", "choose email or webhook"));
    };
    let settings = alerts::settings(&ctx.db).await?;
    if unusable(&settings, channel).is_some() {
        return Err(AppError::invalid(
            channel.as_str(),
            format!("{channel} alerts are switched off: switch them on and save, then send a test"),
        ));
    }
    let message = test_message(channel, &actor.name, ctx.page_url.as_deref());
    let now = ctx.clock.now();
    let lease = lease_for(ctx.outbound.timeout());
    let alert = alerts::queue_test(&ctx.db, channel, &message, now, now + lease).await?;
    let done = attempt(ctx, &settings, &alert).await;
    Ok(TestAlertOutcome {
        alert_id: alert.id,
        channel: channel.as_str().to_owned(),
        sent: done.state == DeliveryState::Delivered,
        answer: done.answer,
    })
}
