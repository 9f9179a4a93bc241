//! What the Signups pages, the link health and Settings -> API tokens show.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupListItem {
    pub id: i64,
    pub order_id: String,
    pub account_id: String,
    pub user_name: String,
    pub payment_method: String,
    pub eligible: bool,
    pub reason: String,
    pub created_at: String,
    pub delivered: i64,
    pub pending: i64,
    pub failing: i64,
    pub exhausted: i64,
    pub reversals: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupList {
    pub items: Vec<SignupListItem>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub started_at: String,
    pub duration_ms: i64,
    pub status: Option<i32>,
    pub body_excerpt: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub link: i32,
    /// `signup` or `reversal`.
    pub kind: String,
    pub url: String,
    pub state: String,
    pub tries: i32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub attempts: Vec<AttemptView>,
}

impl DeliveryView {
    pub fn can_retry(&self) -> bool {
        matches!(self.state.as_str(), "failing" | "failed" | "exhausted")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupView {
    pub id: i64,
    pub eligible: bool,
    pub reason: String,
    pub created_at: String,
    pub fields: Vec<(String, String)>,
    pub deliveries: Vec<DeliveryView>,
    pub pixels: Vec<String>,
    /// Links whose conditions left this signup out, each with why.
    pub skipped: Vec<String>,
    pub reversals: Vec<ReversalView>,
}

/// A reversal of the signup, for its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalView {
    pub reversal_id: String,
    pub reason: String,
    pub amount: String,
    pub time: String,
    pub received: String,
    pub summary: String,
    /// Each link's step: (link, what happened).
    pub links: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkHealthView {
    pub link: i32,
    /// In the last 24 hours: tries that delivered, tries that failed (retried or not), and
    /// deliveries given up.
    pub delivered: i64,
    pub failed_tries: i64,
    pub given_up: i64,
    /// The link has failed for 24 hours without a success.
    pub warning: bool,
}
