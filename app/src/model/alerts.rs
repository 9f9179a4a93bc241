//! What Settings → Alerts shows: the channels, the incidents, and every alert sent or waiting.

use serde::{Deserialize, Serialize};

/// The settings as the form shows them; the SMTP password never leaves the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettingsView {
    pub email_enabled: bool,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_tls: String,
    pub smtp_username: String,
    pub password_stored: bool,
    pub sender: String,
    /// One address per line.
    pub recipients: String,
    pub webhook_enabled: bool,
    pub webhook_url: String,
    pub failures_to_open: String,
    pub updated: Option<String>,
    /// Whether messages can link to affdesk (`AFFDESK_PUBLIC_ORIGIN` is set).
    pub links_to_affdesk: bool,
}

/// One incident: a link that failed, and whether it delivers again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: i64,
    pub link: i32,
    pub reason: String,
    pub opened: String,
    pub closed: Option<String>,
}

/// One alert, sent or waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub id: i64,
    pub incident_id: Option<i64>,
    pub channel: String,
    pub event: String,
    pub subject: String,
    /// `pending`, `failing` (to be retried), `delivered`, `exhausted` or `failed` (a test).
    pub state: String,
    pub tries: i32,
    /// What the mail server or webhook answered last, or why it could not be reached.
    pub answer: String,
    pub created: String,
    pub sent: Option<String>,
    /// When a failing alert is tried next.
    pub next_try: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsOverview {
    pub settings: AlertSettingsView,
    pub incidents: Vec<IncidentView>,
    pub history: Vec<AlertHistoryEntry>,
}

/// What "Send test alert" got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAlertOutcome {
    pub alert_id: i64,
    pub channel: String,
    pub sent: bool,
    pub answer: String,
}

/// How the history names an alert's state.
pub fn state_label(state: &str) -> &'static str {
    match state {
        "pending" => "Waiting",
        "failing" => "Failed; will retry",
        "delivered" => "Sent",
        "exhausted" => "Given up",
        "failed" => "Not sent",
        _ => "Unknown",
    }
}
