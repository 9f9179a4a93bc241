//! The logged-in admin: who they are, and changing their password.

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::account::{AdminSummary, PASSWORD_CHANGED_PATH};

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
