//! Thin `#[server]` functions: each checks the session, calls one use case in
//! `crate::service`, and answers with its result; an `AppError` becomes the typed
//! [`ApiError`](crate::model::error::ApiError) (logged, with its HTTP status) through `?`.

pub mod account;
pub mod affiliate;
pub mod contracts;
pub mod signups;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use crate::model::error::ApiError;
    use crate::server::http::session::CurrentAdmin;
    use crate::server::state::AppState;
    use crate::service::error::AppError;
    use axum::extract::FromRef;
    use axum::http::request::Parts;
    use axum::http::{header, StatusCode};
    use leptos::prelude::*;

    /// The admin the guard admitted. Server functions still ask, so none can run without one
    /// even if it were ever mounted outside the guard.
    pub fn current_admin() -> Result<CurrentAdmin, ApiError> {
        use_context::<Parts>()
            .and_then(|parts| parts.extensions.get::<CurrentAdmin>().cloned())
            .ok_or_else(|| ApiError::from(AppError::Refused(ApiError::Unauthorized)))
    }

    /// The narrow dependencies `T` of a use case, taken from the application state.
    pub fn deps<T: FromRef<AppState>>() -> Result<T, ApiError> {
        use_context::<AppState>()
            .map(|state| T::from_ref(&state))
            .ok_or_else(|| {
                AppError::internal("server function", "application state missing from context")
                    .into()
            })
    }

    /// Sets the HTTP status that matches the error. Plain form posts (no JavaScript) are left
    /// alone: leptos_axum answers those with a redirect back to the form, which a status would
    /// break.
    fn set_status(status: StatusCode) {
        let plain_form = use_context::<Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if !plain_form {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(status);
            }
        }
    }

    /// Where a use case's failure becomes a server function's answer: logged once (internal
    /// detail stays in the log), with the status that says what happened.
    impl From<AppError> for ApiError {
        fn from(err: AppError) -> Self {
            set_status(err.status());
            err.into_api_error()
        }
    }
}
