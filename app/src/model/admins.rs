//! Settings → Admins, as the page shows it.

use serde::{Deserialize, Serialize};

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

/// What the page can do to an admin (besides creating one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAction {
    Disable,
    Enable,
    /// A new one-time password, shown once; they choose their own at their next login.
    ResetPassword,
    EndSessions,
    /// Two-step login off (a lost phone); their sessions end.
    ResetMfa,
}

impl AdminAction {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "disable" => Some(Self::Disable),
            "enable" => Some(Self::Enable),
            "reset_password" => Some(Self::ResetPassword),
            "end_sessions" => Some(Self::EndSessions),
            "reset_mfa" => Some(Self::ResetMfa),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::ResetPassword => "reset_password",
            Self::EndSessions => "end_sessions",
            Self::ResetMfa => "reset_mfa",
        }
    }
}
