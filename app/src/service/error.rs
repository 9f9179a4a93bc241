//! The one error every use case returns. It keeps the failure's source chain, knows its own HTTP
//! status, and is logged once, where it becomes an answer: as the server functions' typed
//! [`ApiError`] (`impl From<AppError> for ApiError` in `crate::api`), as an
//! `application/problem+json` answer on `/api/v1` ([`AppError::problem`]), or as a short page
//! for a plain form post ([`IntoResponse`]).

use crate::model::error::{ApiError, FieldError};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What caused an internal failure, kept for the log.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Refused for a reason the admin can act on; the message is written for them.
    #[error(transparent)]
    Refused(#[from] ApiError),
    /// Refused on the signup API: a machine-readable `code` beside a message for the developer
    /// who wrote the call, and the fields at fault.
    #[error("{message}")]
    Rejected {
        status: StatusCode,
        code: &'static str,
        message: String,
        errors: Vec<FieldError>,
    },
    /// Too much work is waiting (password checks during a login storm): try again after
    /// `retry_after_secs`. Answered 503 with `Retry-After`.
    #[error("{context}: too busy")]
    Overloaded {
        context: &'static str,
        retry_after_secs: u64,
    },
    /// Something affdesk needs (its database) cannot be reached right now: try again shortly.
    #[error("{context}")]
    Unavailable {
        context: &'static str,
        #[source]
        source: Source,
    },
    /// A failure inside affdesk: the person gets a generic message, the log gets the chain.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Source,
    },
}

/// The failures of affdesk's own parts, each an internal error under the name of what failed.
macro_rules! internal_from {
    ($($ty:ty => $context:literal),* $(,)?) => {$(
        impl From<$ty> for AppError {
            fn from(err: $ty) -> Self {
                Self::internal($context, err)
            }
        }
    )*};
}

internal_from! {
    sqlx::Error => "database",
    serde_json::Error => "stored JSON",
    tower_sessions::session::Error => "session store",
    axum::Error => "reading the request body",
    crate::server::http::session::SessionError => "session",
    crate::server::storage::affiliate_store::StoreError => "affiliate settings",
    crate::server::storage::signups::RecordError => "storing a signup or a reversal",
}

/// A full hashing queue is a reason to come back shortly, not a failure of affdesk's.
impl From<crate::server::security::passwords::PasswordHashError> for AppError {
    fn from(err: crate::server::security::passwords::PasswordHashError) -> Self {
        use crate::server::security::passwords::PasswordHashError;
        match err {
            PasswordHashError::Busy => Self::Overloaded {
                context: "password checks",
                retry_after_secs: 2,
            },
            other => Self::internal("password hashing", other),
        }
    }
}

impl AppError {
    pub fn internal(context: &'static str, source: impl Into<Source>) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }

    pub fn unavailable(context: &'static str, source: impl Into<Source>) -> Self {
        Self::Unavailable {
            context,
            source: source.into(),
        }
    }

    /// One field is wrong; `message` says how to fix it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Refused(ApiError::invalid(field, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused(err) => {
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Rejected { status, .. } => *status,
            Self::Unavailable { .. } | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What a command-line user reads: each field's message as `field: message`, or the error
    /// with its sources.
    pub fn for_terminal(&self) -> String {
        match self {
            Self::Refused(ApiError::Invalid(errors)) | Self::Rejected { errors, .. }
                if !errors.is_empty() =>
            {
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            _ => self.chain(),
        }
    }

    /// The error and every source under it, `: `-separated, for the log.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(err) = next {
            out.push_str(": ");
            out.push_str(&err.to_string());
            next = err.source();
        }
        out
    }

    /// Logs what the person will not see: an internal failure with its whole chain. Refusals
    /// are the person's to read and are not errors of affdesk's, so they stay out of the log.
    pub fn log(&self) {
        match self {
            Self::Internal { .. } => tracing::error!(error = %self.chain(), "request failed"),
            Self::Unavailable { .. } => {
                tracing::error!(error = %self.chain(), "request failed: a dependency is unavailable")
            }
            Self::Overloaded { .. } => tracing::warn!(error = %self, "request refused: too busy"),
            Self::Refused(_) | Self::Rejected { .. } => {}
        }
    }

    /// What a server function's client gets, after the failure is logged.
    pub fn into_api_error(self) -> ApiError {
        self.log();
        match self {
            Self::Refused(err) => err,
            Self::Rejected {
                errors, message, ..
            } if errors.is_empty() => ApiError::Remote {
                message,
                settings_link: false,
            },
            Self::Rejected { errors, .. } => ApiError::Invalid(errors),
            Self::Overloaded {
                retry_after_secs, ..
            } => ApiError::Remote {
                message: format!(
                    "affdesk is busy checking passwords; try again in {retry_after_secs} seconds"
                ),
                settings_link: false,
            },
            Self::Unavailable { .. } | Self::Internal { .. } => ApiError::Internal,
        }
    }

    /// The machine-readable code of a signup-API answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(ApiError::Unauthorized) => "unauthorized",
            Self::Refused(ApiError::Invalid(_)) => "invalid",
            Self::Refused(ApiError::Conflict { .. }) => "conflict",
            Self::Refused(
                ApiError::PasswordChangeRequired
                | ApiError::MfaEnrolmentRequired
                | ApiError::CrossSite,
            ) => "forbidden",
            Self::Refused(ApiError::Remote { .. }) => "remote",
            Self::Refused(ApiError::OutcomeUnknown { .. }) => "outcome_unknown",
            Self::Rejected { code, .. } => code,
            Self::Unavailable { .. } | Self::Overloaded { .. } => "unavailable",
            Self::Refused(ApiError::Internal | ApiError::Transport(_)) | Self::Internal { .. } => {
                "internal"
            }
        }
    }

    /// An RFC 9457 `application/problem+json` answer, for `/api/v1`. Besides the standard
    /// members it keeps the fields clients of the signup API already read: `error` (a code),
    /// `message`, and `errors` (one per field) when fields are at fault. `internal_message` is
    /// what an internal failure says to the caller, which knows what is safe to repeat.
    pub fn problem(self, internal_message: &str) -> Response {
        self.log();
        let status = self.status();
        let code = self.code();
        let (message, errors) = match self {
            Self::Rejected {
                message, errors, ..
            } => (message, errors),
            Self::Refused(ApiError::Invalid(errors)) => {
                ("the request has invalid fields".to_owned(), errors)
            }
            Self::Refused(err) => (err.to_string(), Vec::new()),
            Self::Overloaded { .. } => (
                "affdesk is too busy; try again shortly".to_owned(),
                Vec::new(),
            ),
            Self::Unavailable { .. } | Self::Internal { .. } => {
                (internal_message.to_owned(), Vec::new())
            }
        };
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": message,
            "error": code,
            "message": message,
        });
        if !errors.is_empty() {
            body["errors"] = json!(errors);
        }
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }

    /// `Retry-After` on an answer to an overloaded request.
    pub fn add_retry_after(&self, res: &mut Response) {
        if let Self::Overloaded {
            retry_after_secs, ..
        } = self
        {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(*retry_after_secs),
            );
        }
    }

    /// A server function's error as its client expects it: the typed error, JSON-encoded, with
    /// this error's status. For answers given outside a server function (the guards).
    pub fn server_fn_response(self) -> Response {
        let status = self.status();
        server_fn_error_response(status, &self.into_api_error())
    }
}

/// A server function's typed error, JSON-encoded, as its client reads it.
pub fn server_fn_error_response(status: StatusCode, error: &ApiError) -> Response {
    let body = serde_json::to_string(error).unwrap_or_else(|_| "\"Internal\"".to_owned());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A plain-text answer, for the HTML form endpoints and the guards in front of pages.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let text = match &self {
            Self::Refused(ApiError::CrossSite) => {
                "affdesk refused this request because it came from another site.".to_owned()
            }
            Self::Refused(err) => err.to_string(),
            Self::Rejected { message, .. } => message.clone(),
            Self::Unavailable { .. } => {
                "affdesk cannot reach its database; try again shortly".to_owned()
            }
            Self::Overloaded {
                retry_after_secs, ..
            } => format!("affdesk is busy; try again in {retry_after_secs} seconds"),
            Self::Internal { .. } => "affdesk could not complete this request. Try again; if it \
                                      keeps failing, the server log says why."
                .to_owned(),
        };
        let mut res = (status, text).into_response();
        self.add_retry_after(&mut res);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct Cause;

    #[derive(Debug, thiserror::Error)]
    #[error("write failed")]
    struct Outer(#[source] Cause);

    #[test]
    fn the_chain_names_every_source() {
        let err = AppError::internal("database", Outer(Cause));
        assert_eq!(err.chain(), "database: write failed: disk full");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_refusal_keeps_its_status_and_message() {
        let err = AppError::invalid("name", "choose another name");
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            err.into_api_error().field_message("name").as_deref(),
            Some("choose another name")
        );
    }

    #[test]
    fn internal_failures_reach_the_client_without_their_detail() {
        let err = AppError::internal("database", Outer(Cause));
        assert_eq!(err.into_api_error(), ApiError::Internal);
        let unavailable = AppError::unavailable("session", Cause);
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    async fn body_of(res: Response) -> (StatusCode, String, serde_json::Value) {
        let status = res.status();
        let kind = res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, kind, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn a_full_hashing_queue_answers_503_with_retry_after() {
        use crate::server::security::passwords::PasswordHashError;
        let err = AppError::from(PasswordHashError::Busy);
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        let res = err.into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        let stopped = AppError::from(PasswordHashError::Stopped);
        assert_eq!(stopped.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn problems_carry_the_standard_members_and_the_old_fields() {
        let err = AppError::Refused(ApiError::Invalid(vec![FieldError::new(
            "amount",
            "enter a number",
        )]));
        let (status, kind, body) = body_of(err.problem("unused")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(kind, "application/problem+json");
        assert_eq!(body["status"], 422);
        assert_eq!(body["error"], "invalid");
        assert_eq!(body["errors"][0]["field"], "amount");
        assert_eq!(body["detail"], body["message"]);

        let internal = AppError::internal("database", Cause);
        let (status, _, body) = body_of(internal.problem("send it again")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["message"], "send it again");
        assert!(body.get("errors").is_none());
        assert!(!body.to_string().contains("disk full"), "{body}");
    }
}
