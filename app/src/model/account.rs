//! The logged-in admin, as the pages see them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSummary {
    pub username: String,
    pub must_change_password: bool,
    /// Two-step login is required and not set up yet.
    #[serde(default)]
    pub must_enrol_mfa: bool,
}

/// Two-step login, as the set-up page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaStatus {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Required of every admin (`AFFDESK_REQUIRE_MFA`).
    pub required: bool,
}

/// A set-up begun: the secret for the authenticator app, as text and as a QR code (SVG made on
/// the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaEnrolment {
    /// Base32, in groups of four for typing.
    pub secret: String,
    pub qr_svg: String,
}

/// Where the two-step set-up lives.
pub const MFA_PATH: &str = "/account/mfa";

/// Where a successful password change lands, with or without JavaScript.
pub const PASSWORD_CHANGED_PATH: &str = "/account/password?changed=1";
