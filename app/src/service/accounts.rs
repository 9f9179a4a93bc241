//! Admins and their sessions: logging in (throttled), changing the password, who is logged in.

use super::error::AppError;
use crate::domain::credentials::{check_new_password, normalize_login_name};
use crate::domain::throttle::ThrottleDecision;
use crate::model::account::AdminSummary;
use crate::model::error::ApiError;
use crate::server::http::session::{self, CurrentAdmin};
use crate::server::state::AccountDeps;
use crate::server::storage::{admins, login_throttle};
use tower_sessions::Session;

/// A login form as posted, with the address it came from.
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub address: &'a str,
}

/// What came of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The session is now this admin's; `must_change_password` sends them to the password page.
    LoggedIn { must_change_password: bool },
    /// Wrong username or password (never which).
    Refused,
    /// Too many failures for this username or address: try again after this many seconds.
    Throttled { retry_after_secs: u64 },
}

/// Checks the password (after the throttle) and, when it matches, makes `session` this admin's
/// under a fresh id. Failures are recorded against the username and the address.
#[tracing::instrument(skip_all, fields(username = tracing::field::Empty, address = %attempt.address))]
pub async fn log_in(
    deps: &AccountDeps,
    session: &Session,
    attempt: LoginAttempt<'_>,
) -> Result<LoginOutcome, AppError> {
    let db = &deps.sessions.db;
    let username = normalize_login_name(attempt.username);
    tracing::Span::current().record("username", username.as_str());
    let now = deps.sessions.clock.now();
    let policy = &deps.sessions.auth.throttle;
    if let ThrottleDecision::Refused { retry_after_secs } =
        login_throttle::check(db, policy, &username, attempt.address, now).await?
    {
        tracing::warn!(%username, address = %attempt.address, retry_after_secs, "login refused: throttled");
        return Ok(LoginOutcome::Throttled { retry_after_secs });
    }
    let admin = admins::find_by_username(db, &username).await?;
    let stored_hash = admin.as_ref().map(|a| a.password_hash.as_str());
    let verified = deps.passwords.verify(attempt.password, stored_hash).await?;
    match admin.filter(|_| verified) {
        Some(admin) => {
            login_throttle::clear_username(db, &username).await?;
            session::start(session, &admin, now).await?;
            tracing::info!(admin = %admin.username, address = %attempt.address, "admin logged in");
            Ok(LoginOutcome::LoggedIn {
                must_change_password: admin.must_change_password,
            })
        }
        None => {
            login_throttle::record_failure(db, &username, attempt.address, now).await?;
            tracing::warn!(%username, address = %attempt.address, "failed login");
            Ok(LoginOutcome::Refused)
        }
    }
}

pub fn summary(admin: CurrentAdmin) -> AdminSummary {
    AdminSummary {
        username: admin.username,
        must_change_password: admin.must_change_password,
    }
}

/// The password form as posted.
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
    pub confirm_password: String,
}

/// Replaces the admin's password after checking the current one, ends every other session of
/// this admin, and keeps this one (under a new id).
#[tracing::instrument(skip_all, fields(admin = %admin.username))]
pub async fn change_password(
    deps: &AccountDeps,
    session: &Session,
    admin: &CurrentAdmin,
    change: PasswordChange,
) -> Result<(), AppError> {
    if change.current_password.is_empty() {
        return Err(AppError::invalid(
            "current_password",
            "enter your current password",
        ));
    }
    let new = check_new_password(
        &change.current_password,
        &change.new_password,
        &change.confirm_password,
    )
    .map_err(|e| AppError::invalid(e.field(), e.to_string()))?;
    verify_current_password(deps, admin, &change.current_password).await?;
    let now = deps.sessions.clock.now();
    let hash = deps.passwords.hash(new.expose()).await?;
    let epoch = admins::set_password(&deps.sessions.db, admin.id, &hash, now)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    session::continue_with_epoch(session, admin.id, epoch, now).await?;
    tracing::info!(admin = %admin.username, "password changed; other sessions ended");
    Ok(())
}

/// Wrong current passwords count as failed logins, so a left-open session cannot be used to
/// guess the password at full speed.
async fn verify_current_password(
    deps: &AccountDeps,
    admin: &CurrentAdmin,
    password: &str,
) -> Result<(), AppError> {
    let db = &deps.sessions.db;
    let address = format!("session:{}", admin.id);
    let now = deps.sessions.clock.now();
    let policy = &deps.sessions.auth.throttle;
    if let ThrottleDecision::Refused { retry_after_secs } =
        login_throttle::check(db, policy, &admin.username, &address, now).await?
    {
        return Err(AppError::invalid(
            "current_password",
            format!("too many wrong passwords; try again in {retry_after_secs} seconds"),
        ));
    }
    let record = admins::find_by_id(db, admin.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !deps
        .passwords
        .verify(password, Some(&record.password_hash))
        .await?
    {
        login_throttle::record_failure(db, &admin.username, &address, now).await?;
        return Err(AppError::invalid(
            "current_password",
            "this is not your current password",
        ));
    }
    Ok(())
}
