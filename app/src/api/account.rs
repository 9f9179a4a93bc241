//! The logged-in admin: who they are, changing their password, and two-step login.

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::account::{AdminSummary, MfaEnrolment, MfaStatus, PASSWORD_CHANGED_PATH};

/// The logged-in admin, loaded for one page (the frame's name, the password page's banner).
///
/// A `Resource`, never a `OnceResource` (clippy.toml forbids it): in leptos_server 0.8.8 a
/// `OnceResource` read takes its value with `RwLock::try_read`, so a render that reads it while
/// the loader, on another worker thread, is storing the value gets `None`, and `get()` panics
/// with "already disposed". CI caught that once on `/account/password`. A `Resource` read waits
/// for the lock instead.
pub fn admin_resource() -> Resource<Result<AdminSummary, ApiError>> {
    Resource::new(|| (), |()| whoami())
}

#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<AdminSummary, ApiError> {
    Ok(crate::service::accounts::summary(
        super::context::current_admin()?,
    ))
}

/// Replaces the admin's password after checking the current one, ends every other session of
/// this admin, and keeps this one (under a new id).
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), ApiError> {
    use super::context::{current_admin, deps};
    use crate::service::accounts::{self, PasswordChange};
    use crate::service::error::AppError;
    let admin = current_admin()?;
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| AppError::internal("reading the session", e.to_string()))?;
    let change = PasswordChange {
        current_password,
        new_password,
        confirm_password,
    };
    accounts::change_password(&deps()?, &session, &admin, change).await?;
    leptos_axum::redirect(PASSWORD_CHANGED_PATH);
    Ok(())
}

/// Whether two-step login is on, and how many recovery codes are left.
#[server(endpoint = "two_step_status")]
pub async fn two_step_status() -> Result<MfaStatus, ApiError> {
    use super::context::{current_admin, deps};
    let admin = current_admin()?;
    Ok(crate::service::mfa::status(&deps()?, &admin).await?)
}

/// Begins setting up an authenticator app: a new secret, as text and as a QR code.
#[server(endpoint = "begin_two_step")]
pub async fn begin_two_step() -> Result<MfaEnrolment, ApiError> {
    use super::context::{current_admin, deps};
    let admin = current_admin()?;
    Ok(crate::service::mfa::begin_enrolment(&deps()?, &admin).await?)
}

/// Turns two-step login on with a code from the app; answers the recovery codes, shown once.
#[server(endpoint = "confirm_two_step")]
pub async fn confirm_two_step(code: String) -> Result<Vec<String>, ApiError> {
    use super::context::{current_admin, deps};
    use crate::service::error::AppError;
    let admin = current_admin()?;
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| AppError::internal("reading the session", e.to_string()))?;
    Ok(crate::service::mfa::confirm_enrolment(&deps()?, &session, &admin, &code).await?)
}
