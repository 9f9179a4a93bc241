//! What Settings → Connect signups shows.

use serde::{Deserialize, Serialize};

/// One logged call to the signup API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeCallView {
    pub received_at: String,
    /// `signup` or `reversal`.
    pub endpoint: String,
    /// The token's name, or "unknown token".
    pub token: String,
    pub order_id: String,
    pub status: i32,
    pub outcome: String,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectView {
    /// Where affdesk is reached, e.g. `https://affdesk.example.com`.
    pub base_url: String,
    /// How many API tokens exist (none: the page says to create one first).
    pub tokens: i64,
    pub calls: Vec<IntakeCallView>,
}
