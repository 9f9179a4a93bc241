//! The error server functions return, as it travels to the browser. Its messages are written for
//! the admin; internal detail goes to the log, never here. On the server every failure is a
//! `service::error::AppError` first, which becomes this where it is answered.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

pub use crate::domain::field_error::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("your session has ended; log in again")]
    Unauthorized,
    #[error("choose a new password before doing anything else")]
    PasswordChangeRequired,
    #[error("set up two-step login (Account → Two-step login) before doing anything else")]
    MfaEnrolmentRequired,
    #[error("this request came from another site and was refused")]
    CrossSite,
    #[error("please correct the fields marked below")]
    Invalid(Vec<FieldError>),
    #[error(
        "{by} saved these settings at {at}, after you opened this page, so your save was refused \
         to keep their changes. Your edits are still here: note them, reload the page, and apply \
         them again."
    )]
    Conflict { by: String, at: String },
    /// Explodely refused or could not be reached; `settings_link` when the fix is under
    /// Settings -> Explodely.
    #[error("{message}")]
    Remote {
        message: String,
        settings_link: bool,
    },
    /// A call to Explodely may have been carried out, but no answer says whether it was: a new
    /// attempt waits until the admin has checked (the form keeps its idempotency key).
    #[error("{message}")]
    OutcomeUnknown { message: String },
    #[error(
        "affdesk could not complete this request; try again, and if it keeps failing the server \
         log says why"
    )]
    Internal,
    #[error("could not reach affdesk: {0}")]
    Transport(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// The message for `field`, when this error has one.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::PasswordChangeRequired | Self::MfaEnrolmentRequired | Self::CrossSite => 403,
            Self::Invalid(_) => 422,
            Self::Conflict { .. } => 409,
            Self::Remote { .. } | Self::OutcomeUnknown { .. } => 502,
            Self::Internal | Self::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_messages_are_found_by_field() {
        let err = ApiError::Invalid(vec![
            FieldError::new("a", "first"),
            FieldError::new("b", "second"),
        ]);
        assert_eq!(err.field_message("b").as_deref(), Some("second"));
        assert_eq!(err.field_message("c"), None);
        assert_eq!(ApiError::Internal.field_message("a"), None);
    }

    #[test]
    fn statuses_follow_http_meaning() {
        assert_eq!(ApiError::Unauthorized.status(), 401);
        assert_eq!(ApiError::invalid("x", "y").status(), 422);
    }
}
