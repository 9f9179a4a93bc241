//! The logged-in admin: who they are, and changing their password.

use super::error::ApiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSummary {
    pub username: String,
    pub must_change_password: bool,
}

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
    let admin = super::context::current_admin()?;
    Ok(AdminSummary {
        username: admin.username,
        must_change_password: admin.must_change_password,
    })
}

/// Where a successful change lands, with or without JavaScript.
pub const PASSWORD_CHANGED_PATH: &str = "/account/password?changed=1";

/// Replaces the admin's password after checking the current one, ends every other session of
/// this admin, and keeps this one (under a new id).
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), ApiError> {
    use super::context::{current_admin, fail, internal, state};
    use crate::domain::credentials::check_new_password;
    use crate::domain::throttle::ThrottleDecision;
    use crate::server::{admins, login_throttle, session};

    let admin = current_admin()?;
    let state = state()?;
    if current_password.is_empty() {
        return Err(fail(ApiError::invalid(
            "current_password",
            "enter your current password",
        )));
    }
    let new = check_new_password(&current_password, &new_password, &confirm_password)
        .map_err(|e| fail(ApiError::invalid(e.field(), e.to_string())))?;

    // Wrong current passwords count as failed logins, so a left-open session cannot be used to
    // guess the password at full speed.
    let address = format!("session:{}", admin.id);
    let now = state.clock.now();
    if let ThrottleDecision::Refused { retry_after_secs } = login_throttle::check(
        &state.db,
        &state.auth.throttle,
        &admin.username,
        &address,
        now,
    )
    .await
    .map_err(internal)?
    {
        return Err(fail(ApiError::invalid(
            "current_password",
            format!("too many wrong passwords; try again in {retry_after_secs} seconds"),
        )));
    }
    let record = admins::find_by_id(&state.db, admin.id)
        .await
        .map_err(internal)?
        .ok_or_else(|| fail(ApiError::Unauthorized))?;
    let verified = state
        .passwords
        .verify(&current_password, Some(&record.password_hash))
        .await
        .map_err(internal)?;
    if !verified {
        login_throttle::record_failure(&state.db, &admin.username, &address, now)
            .await
            .map_err(internal)?;
        return Err(fail(ApiError::invalid(
            "current_password",
            "this is not your current password",
        )));
    }

    let hash = state.passwords.hash(new.expose()).await.map_err(internal)?;
    let epoch = admins::set_password(&state.db, admin.id, &hash, now)
        .await
        .map_err(internal)?
        .ok_or_else(|| fail(ApiError::Unauthorized))?;
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(internal)?;
    session::continue_with_epoch(&session, admin.id, epoch, now)
        .await
        .map_err(internal)?;
    tracing::info!(admin = %admin.username, "password changed; other sessions ended");
    leptos_axum::redirect(PASSWORD_CHANGED_PATH);
    Ok(())
}
