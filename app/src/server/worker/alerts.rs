//! The alert worker: sends queued alerts (email, webhook) and retries them on the deliveries'
//! schedule, and once a minute looks at every link for the quiet hour and the daily reminder.
//!
//! It runs beside the delivery worker, never inside it: a mail server that hangs delays alerts,
//! not deliveries. An alert is a row in the database from the moment its incident changes, so a
//! restart sends it later rather than losing it.

use crate::domain::alerts::{split_recipients, AlertEvent, Channel};
use crate::domain::retry::next_attempt_at;
use crate::domain::states::DeliveryState;
use crate::server::clock::Clock;
use crate::server::remote::outbound::OutboundClient;
use crate::server::remote::smtp::{self, Email, SmtpServer};
use crate::server::security::secrets::SecretBox;
use crate::server::storage::alerts::{self, AlertRow, AlertTry, SettingsRow};
use crate::server::storage::db::Db;
use crate::server::worker::delivery::lease_for;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How often the worker looks for alerts due when nothing wakes it.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How often the links are looked at with no call finishing.
pub const TICK_EVERY: TimeDelta = TimeDelta::minutes(1);
/// Alerts are claimed one at a time: each is sent within its own lease (a mail server may take
/// the whole timeout), so no other process claims it again while it is being sent.
const BATCH: i64 = 1;

/// What sending alerts needs.
#[derive(Debug, Clone)]
pub struct AlertContext {
    pub db: Db,
    /// The webhook's client, and the guard the mail server's address is checked by.
    pub outbound: OutboundClient,
    /// Opens the stored SMTP password.
    pub secrets: SecretBox,
    pub clock: Arc<dyn Clock>,
    /// Where messages tell the admin to look (`AFFDESK_PUBLIC_ORIGIN`), when known.
    pub page_url: Option<String>,
}

/// Wakes the alert worker when alerts were queued.
#[derive(Debug, Clone, Default)]
pub struct AlertWaker(Arc<Notify>);

impl AlertWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Why a channel cannot send with the settings as they are now.
pub(crate) fn unusable(settings: &SettingsRow, channel: Channel) -> Option<&'static str> {
    match channel {
        Channel::Email if !settings.email_enabled => {
            Some("email alerts are switched off on Settings → Alerts")
        }
        Channel::Webhook if !settings.webhook_enabled => {
            Some("webhook alerts are switched off on Settings → Alerts")
        }
        _ => None,
    }
}

/// Sends one alert's words by its channel, switched on, with the settings as they are now; `Ok`
/// holds what the mail server or webhook answered.
async fn send(
    ctx: &AlertContext,
    settings: &SettingsRow,
    alert: &AlertRow,
) -> Result<String, String> {
    match alert.channel {
        Channel::Email => {
            let password = match &settings.smtp_password {
                Some(sealed) => Some(ctx.secrets.open(sealed).map_err(|e| {
                    format!("the stored SMTP password cannot be opened ({e}); type it again on Settings → Alerts")
                })?),
                None => None,
            };
            let server = SmtpServer {
                host: settings.smtp_host.clone(),
                port: u16::try_from(settings.smtp_port).unwrap_or(587),
                tls: settings.smtp_tls,
                username: settings.smtp_username.clone(),
                password,
                sender: settings.sender.clone(),
                recipients: split_recipients(&settings.recipients),
            };
            let email = Email {
                subject: &alert.subject,
                body: &alert.body,
            };
            let timeout = ctx.outbound.timeout();
            smtp::send(&server, ctx.outbound.allow_list(), email, timeout).await
        }
        Channel::Webhook => {
            let outcome = ctx
                .outbound
                .post_json(&settings.webhook_url, &alert.payload)
                .await;
            let excerpt: String = outcome.body_excerpt.chars().take(200).collect();
            match (outcome.error, outcome.status) {
                (Some(error), _) => Err(error),
                (None, Some(status)) if (200..300).contains(&status) => {
                    Ok(format!("HTTP {status} {excerpt}").trim_end().to_owned())
                }
                (None, status) => Err(format!(
                    "the webhook answered HTTP {}: {excerpt}",
                    status.unwrap_or_default()
                )),
            }
        }
    }
}

/// Where one try leaves an alert: sent, retried later, or given up. A test alert is tried once.
fn after_try(alert: &AlertRow, result: &Result<String, String>, now: DateTime<Utc>) -> AlertTry {
    let tries = alert.tries.saturating_add(1);
    let (state, next, answer) = match result {
        Ok(answer) => (DeliveryState::Delivered, now, answer.clone()),
        Err(error) if alert.event == AlertEvent::Test => {
            (DeliveryState::Failed, now, error.clone())
        }
        Err(error) => {
            let made = u32::try_from(tries).unwrap_or(u32::MAX);
            match next_attempt_at(now, made, rand::random::<f64>(), None) {
                Some(at) => (DeliveryState::Failing, at, error.clone()),
                None => (DeliveryState::Exhausted, now, error.clone()),
            }
        }
    };
    AlertTry {
        id: alert.id,
        state,
        tries,
        next_attempt_at: next,
        answer,
        sent_at: result.is_ok().then_some(now),
    }
}

/// Sends one claimed alert and stores how it went.
#[tracing::instrument(name = "alert_attempt", skip_all, fields(alert_id = alert.id, channel = alert.channel.as_str(), event = alert.event.as_str()))]
pub async fn attempt(ctx: &AlertContext, settings: &SettingsRow, alert: &AlertRow) -> AlertTry {
    let off = unusable(settings, alert.channel);
    let result = match off {
        Some(why) => Err(format!("not sent: {why}")),
        None => send(ctx, settings, alert).await,
    };
    let mut done = after_try(alert, &result, ctx.clock.now());
    if off.is_some() {
        // Switched off by the admin: not retried, or it would fail for three days.
        done.state = DeliveryState::Failed;
    }
    crate::server::metrics::alert_try(alert.channel.as_str(), done.state.as_str());
    match &result {
        Ok(answer) => tracing::info!(answer = %answer, "alert sent"),
        Err(error) => {
            tracing::warn!(error = %error, state = done.state.as_str(), next_at = %done.next_attempt_at, "alert not sent")
        }
    }
    if let Err(err) = alerts::finish(&ctx.db, &done).await {
        // Its lease expires and it is sent again: at least once, never lost.
        tracing::error!(error = %err, alert = alert.id, "cannot store an alert's try");
    }
    done
}

pub struct AlertWorker {
    ctx: AlertContext,
    last_tick: Mutex<Option<DateTime<Utc>>>,
}

impl AlertWorker {
    pub fn new(ctx: AlertContext) -> Self {
        Self {
            ctx,
            last_tick: Mutex::new(None),
        }
    }

    /// Looks at the links without a call finishing (at most once a [`TICK_EVERY`]).
    async fn tick(&self, force: bool) {
        let now = self.ctx.clock.now();
        {
            let mut last = self.last_tick.lock().unwrap_or_else(|e| e.into_inner());
            if !force && last.is_some_and(|at| now - at < TICK_EVERY) {
                return;
            }
            *last = Some(now);
        }
        if let Err(err) =
            alerts::observe_time(&self.ctx.db, now, self.ctx.page_url.as_deref()).await
        {
            tracing::error!(error = %err, "cannot look at the links for incidents");
        }
    }

    /// Sends every alert due now; returns how many were tried.
    async fn send_due(&self) -> usize {
        let now = self.ctx.clock.now();
        match alerts::any_due(&self.ctx.db, now).await {
            Ok(true) => {}
            Ok(false) => return 0,
            Err(err) => {
                tracing::error!(error = %err, "cannot look for alerts to send");
                return 0;
            }
        }
        let lease = lease_for(self.ctx.outbound.timeout());
        let claimed = match alerts::claim(&self.ctx.db, now, now + lease, BATCH).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::error!(error = %err, "cannot claim alerts");
                return 0;
            }
        };
        if claimed.is_empty() {
            return 0;
        }
        let settings = match alerts::settings(&self.ctx.db).await {
            Ok(settings) => settings,
            Err(err) => {
                // The leases expire and the alerts are claimed again.
                tracing::error!(error = %err, "cannot read the alert settings");
                return 0;
            }
        };
        for alert in &claimed {
            attempt(&self.ctx, &settings, alert).await;
        }
        claimed.len()
    }

    /// Looks at the links and sends what is due until nothing is: the tests' deterministic step.
    pub async fn run_once(&self) -> usize {
        self.tick(true).await;
        let mut total = 0;
        loop {
            let sent = self.send_due().await;
            if sent == 0 {
                return total;
            }
            total += sent;
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, waker: AlertWaker, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.tick(false).await;
            if self.send_due().await > 0 {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = waker.0.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(event: AlertEvent, tries: i32) -> AlertRow {
        AlertRow {
            id: 1,
            channel: Channel::Webhook,
            event,
            subject: String::new(),
            body: String::new(),
            payload: String::new(),
            tries,
        }
    }

    #[test]
    fn a_failed_alert_is_retried_on_the_schedule_until_it_is_given_up() {
        let now = Utc::now();
        let first = after_try(&alert(AlertEvent::Opened, 0), &Err("refused".into()), now);
        assert_eq!(first.state, DeliveryState::Failing);
        assert!(
            first.next_attempt_at > now && first.next_attempt_at <= now + TimeDelta::seconds(73)
        );
        let last = after_try(&alert(AlertEvent::Opened, 8), &Err("refused".into()), now);
        assert_eq!(last.state, DeliveryState::Exhausted);
        let sent = after_try(&alert(AlertEvent::Closed, 2), &Ok("250 ok".into()), now);
        assert_eq!(
            (sent.state, sent.tries, sent.sent_at),
            (DeliveryState::Delivered, 3, Some(now))
        );
    }

    #[test]
    fn a_test_alert_is_tried_once() {
        let done = after_try(
            &alert(AlertEvent::Test, 0),
            &Err("no route".into()),
            Utc::now(),
        );
        assert_eq!(done.state, DeliveryState::Failed);
        assert_eq!(done.answer, "no route");
    }
}
