//! Thin `#[server]` functions: check the session, call the domain and the server adapters, map
//! failures to [`error::ApiError`].

pub mod account;
pub mod affiliate;
pub mod contracts;
pub mod error;
pub mod signups;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use super::error::ApiError;
    use crate::server::session::CurrentAdmin;
    use crate::server::state::AppState;
    use axum::http::request::Parts;
    use axum::http::{header, StatusCode};
    use leptos::prelude::*;

    /// The admin the guard admitted. Server functions still ask, so none can run without one
    /// even if it were ever mounted outside the guard.
    pub fn current_admin() -> Result<CurrentAdmin, ApiError> {
        use_context::<Parts>()
            .and_then(|parts| parts.extensions.get::<CurrentAdmin>().cloned())
            .ok_or_else(|| fail(ApiError::Unauthorized))
    }

    pub fn state() -> Result<AppState, ApiError> {
        use_context::<AppState>().ok_or_else(|| internal("application state missing from context"))
    }

    /// Logs the detail and returns the error a person sees, which says nothing internal.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "server function failed");
        fail(ApiError::Internal)
    }

    /// Sets the HTTP status that matches `error`. Plain form posts (no JavaScript) are left alone:
    /// leptos_axum answers those with a redirect back to the form, which a status would break.
    pub fn fail(error: ApiError) -> ApiError {
        let plain_form = use_context::<Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if !plain_form {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(
                    StatusCode::from_u16(error.status())
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                );
            }
        }
        error
    }
}
