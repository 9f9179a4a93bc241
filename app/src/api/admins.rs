//! Server functions of Settings → Admins.

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::admins::{AdminAction, AdminView, OneTimePassword};

#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<AdminView>, ApiError> {
    use super::context::{current_admin, deps};
    use crate::server::state::AccountDeps;
    let admin = current_admin()?;
    let deps = deps::<AccountDeps>()?;
    let sessions = &deps.sessions;
    let (idle, lifetime) = (sessions.auth.idle_timeout, sessions.auth.max_lifetime);
    let now = sessions.clock.now();
    Ok(crate::service::admins::list(&sessions.db, admin.id, now, idle, lifetime).await?)
}

/// Creates an admin with a one-time password, returned to be shown once.
#[server(endpoint = "create_admin")]
pub async fn create_admin(username: String) -> Result<OneTimePassword, ApiError> {
    use super::context::{current_admin, deps};
    use crate::server::state::AccountDeps;
    let admin = current_admin()?;
    let deps = deps::<AccountDeps>()?;
    let now = deps.sessions.clock.now();
    let (db, passwords) = (&deps.sessions.db, &deps.passwords);
    let actor = admin.actor();
    let password =
        crate::service::admins::create(db, passwords, &actor, &username, None, now).await?;
    Ok(OneTimePassword {
        username: username.trim().to_owned(),
        password,
    })
}

/// Disables, enables, resets the password of (answering the one-time password) or ends the
/// sessions of the admin named `username`; `action` is `disable`, `enable`, `reset_password` or
/// `end_sessions`.
#[server(endpoint = "change_admin")]
pub async fn change_admin(
    username: String,
    action: String,
) -> Result<Option<OneTimePassword>, ApiError> {
    use super::context::{current_admin, deps};
    use crate::server::state::AccountDeps;
    use crate::service::admins::{change, Requester};
    use crate::service::error::AppError;
    let admin = current_admin()?;
    let Some(action) = AdminAction::parse(&action) else {
        return Err(AppError::invalid(
            "action",
            format!("{action:?} is not something the Admins page can do"),
        )
        .into());
    };
    let deps = deps::<AccountDeps>()?;
    let now = deps.sessions.clock.now();
    let requester = Requester::Admin(admin.id);
    let (db, passwords) = (&deps.sessions.db, &deps.passwords);
    let password = change(
        db,
        passwords,
        &admin.actor(),
        requester,
        &username,
        action,
        now,
    )
    .await?;
    Ok(password.map(|password| OneTimePassword { username, password }))
}
