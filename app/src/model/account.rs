//! The logged-in admin, as the pages see them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSummary {
    pub username: String,
    pub must_change_password: bool,
}

/// Where a successful password change lands, with or without JavaScript.
pub const PASSWORD_CHANGED_PATH: &str = "/account/password?changed=1";
