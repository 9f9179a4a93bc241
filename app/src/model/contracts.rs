//! What Settings -> Explodely and the affiliate contract pages show.

use super::error::ApiError;
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

/// A contract form rendered for a plain form post (no JavaScript): what was posted, the error,
/// and a fresh key for the next, deliberate, submit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostedContractForm {
    pub input: crate::domain::contract::ContractInput,
    /// `None` for a fresh form.
    pub error: Option<ApiError>,
    pub key: String,
}

/// The path a created contract is shown at.
pub fn created_path(id: i64) -> String {
    format!("/affiliate/contracts/{id}?created=1")
}
