//! Settings → Admins, as the page shows it.

use serde::{Deserialize, Serialize};

pub use crate::domain::states::AdminAction;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminView {
    pub username: String,
    pub created_at: String,
    pub last_login: Option<String>,
    pub disabled: bool,
    /// Two-step login is on.
    pub mfa: bool,
    /// Sessions open now.
    pub sessions: i64,
    /// The admin looking at the page.
    pub is_you: bool,
}

/// A one-time password made for an admin, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimePassword {
    pub username: String,
    pub password: String,
}
