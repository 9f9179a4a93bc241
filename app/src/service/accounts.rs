//! Admins and their sessions: logging in (throttled), changing the password, who is logged in.

use super::error::AppError;
use super::mfa;
use crate::domain::credentials::{check_new_password, normalize_login_name};
use crate::domain::states::AuditKind;
use crate::domain::throttle::{self, ThrottleDecision};
use crate::model::account::AdminSummary;
use crate::model::error::ApiError;
use crate::server::http::session::{self, CurrentAdmin};
use crate::server::security::device;
use crate::server::security::tokens::random_token;
use crate::server::state::{AccountDeps, SessionDeps};
use crate::server::storage::admins::AdminRecord;
use crate::server::storage::audit_log::{self, Actor};
use crate::server::storage::{admins, login_throttle};
use tower_sessions::Session;

/// A login form as posted, with the address it came from and the browser's device cookie.
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub address: &'a str,
    /// The device cookie's value, when the browser sent one.
    pub device: Option<&'a str>,
}

/// What came of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The session is now this admin's; `must_change_password` sends them to the password page.
    /// `device_cookie` is the browser's (new) device cookie for this admin.
    LoggedIn {
        must_change_password: bool,
        device_cookie: String,
    },
    /// The password was right and the admin uses two-step login: the session now waits for the
    /// second factor (`log_in_second_factor`).
    SecondFactor,
    /// Wrong username or password (never which), or a wrong second factor.
    Refused,
    /// No login is waiting for a second factor in this session (none began, or it waited more
    /// than five minutes): start again with the password.
    Expired,
    /// Too many failures for this browser, or this username from this address, or this
    /// address: try again after this many seconds.
    Throttled { retry_after_secs: u64 },
}

/// Checks the password and, when it matches, makes `session` this admin's under a fresh id.
///
/// Attempts for one username or from one address take turns; each is checked against the
/// throttle and counted as a failure before its password is verified (taken back if it
/// matches), so attempts arriving together cannot all slip past the check.
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
    let device = known_device(deps, &username, attempt.device, now);
    let subjects = throttle::subjects(&username, attempt.address, device.as_deref());
    let _turn = deps.turns.take(&username, attempt.address).await;
    let policy = &deps.sessions.auth.throttle;
    if let ThrottleDecision::Refused { retry_after_secs } =
        login_throttle::check(db, policy, &subjects, now).await?
    {
        tracing::warn!(%username, address = %attempt.address, retry_after_secs, known_device = device.is_some(), "login refused: throttled");
        return Ok(LoginOutcome::Throttled { retry_after_secs });
    }
    let counted = login_throttle::record_attempt(db, &subjects, now).await?;
    let admin = admins::find_by_username(db, &username).await?;
    let stored_hash = admin.as_ref().map(|a| a.password_hash.as_str());
    let verified = match deps.passwords.verify(attempt.password, stored_hash).await {
        Ok(verified) => verified,
        Err(err) => {
            // Not checked (the hashing queue is full, say): not a failure of the admin's.
            login_throttle::forget(db, &counted).await?;
            return Err(err.into());
        }
    };
    let actor = Actor {
        name: username.clone(),
        address: attempt.address.to_owned(),
    };
    let Some(admin) = admin.filter(|a| verified && !a.disabled) else {
        tracing::warn!(%username, address = %attempt.address, "failed login");
        let why = match verified {
            true => "right password, but the admin is disabled",
            false => "wrong username or password",
        };
        audit_log::record(db, &actor.event(AuditKind::LoginFailed, why, now)).await?;
        crate::server::metrics::login_failure("password");
        return Ok(LoginOutcome::Refused);
    };
    login_throttle::forget(db, &counted).await?;
    if mfa::enabled(db, admin.id).await? {
        // Earlier failures stay counted until the second factor is right too, so a known
        // password cannot be used to clear the count between guesses at the code.
        session::await_second_factor(session, &admin, now).await?;
        tracing::info!(admin = %admin.username, address = %attempt.address, "password accepted; waiting for the second factor");
        return Ok(LoginOutcome::SecondFactor);
    }
    let enrol_mfa = deps.sessions.auth.require_mfa;
    let how = if enrol_mfa {
        "logged in with the password; two-step login must be set up first"
    } else {
        "logged in with the password"
    };
    finish_login(deps, session, &admin, &actor, &subjects, enrol_mfa, how).await
}

/// The id of the browser's device cookie, when it shows the browser has logged in as this admin
/// before: its attempts then count against it alone (`throttle::subjects`).
fn known_device(
    deps: &AccountDeps,
    username: &str,
    device_cookie: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    device_cookie
        .and_then(|value| device::recognise(&deps.secrets, value, username, now))
        .map(|device| device.id)
}

/// Both factors are in: the failures counted against this login's subjects are cleared and the
/// session becomes the admin's.
async fn finish_login(
    deps: &AccountDeps,
    session: &Session,
    admin: &AdminRecord,
    actor: &Actor,
    subjects: &[(throttle::Scope, String)],
    enrol_mfa: bool,
    how: &str,
) -> Result<LoginOutcome, AppError> {
    let db = &deps.sessions.db;
    let now = deps.sessions.clock.now();
    // The login's own count, and after a second factor the admin's count of code failures.
    let cleared = subjects
        .iter()
        .enumerate()
        .filter(|(i, (scope, _))| *i == 0 || *scope == throttle::Scope::Username);
    for (_, (scope, subject)) in cleared {
        login_throttle::clear(db, *scope, subject).await?;
    }
    let login_id = random_token(16);
    admins::record_login(
        db,
        admin,
        &login_id,
        &actor.event(AuditKind::Login, how, now),
    )
    .await?;
    session::start(session, admin, now, enrol_mfa, &login_id).await?;
    tracing::info!(admin = %admin.username, address = %actor.address, "admin logged in");
    Ok(LoginOutcome::LoggedIn {
        must_change_password: admin.must_change_password,
        device_cookie: device::issue(&deps.secrets, &admin.username, now),
    })
}

/// A second factor as posted, with the address it came from and the browser's device cookie.
pub struct SecondFactorAttempt<'a> {
    pub code: &'a str,
    pub address: &'a str,
    pub device: Option<&'a str>,
}

/// Checks the second factor of the login waiting in `session` and, when it is right, makes the
/// session the admin's. Codes are throttled exactly as passwords are (the same subjects and
/// counts, each attempt counted before its check).
#[tracing::instrument(skip_all, fields(admin = tracing::field::Empty, address = %attempt.address))]
pub async fn log_in_second_factor(
    deps: &AccountDeps,
    session: &Session,
    attempt: SecondFactorAttempt<'_>,
) -> Result<LoginOutcome, AppError> {
    let db = &deps.sessions.db;
    let now = deps.sessions.clock.now();
    let Some(pending) = session::pending_login(session, now).await? else {
        return Ok(LoginOutcome::Expired);
    };
    let admin = admins::find_by_id(db, pending.admin_id).await?;
    let Some(admin) = admin.filter(|a| a.session_epoch == pending.epoch && !a.disabled) else {
        return Ok(LoginOutcome::Expired);
    };
    tracing::Span::current().record("admin", admin.username.as_str());
    let device = known_device(deps, &admin.username, attempt.device, now);
    let subjects =
        throttle::second_factor_subjects(&admin.username, attempt.address, device.as_deref());
    let _turn = deps.turns.take(&admin.username, attempt.address).await;
    let policy = &deps.sessions.auth.throttle;
    if let ThrottleDecision::Refused { retry_after_secs } =
        login_throttle::check(db, policy, &subjects, now).await?
    {
        tracing::warn!(admin = %admin.username, address = %attempt.address, retry_after_secs, "second factor refused: throttled");
        return Ok(LoginOutcome::Throttled { retry_after_secs });
    }
    let counted = login_throttle::record_attempt(db, &subjects, now).await?;
    let actor = Actor {
        name: admin.username.clone(),
        address: attempt.address.to_owned(),
    };
    let Some(how) = mfa::check_second_factor(deps, &admin, attempt.code, now).await? else {
        tracing::warn!(admin = %admin.username, address = %attempt.address, "wrong second factor");
        let event = actor.event(
            AuditKind::LoginFailed,
            "right password, wrong second factor",
            now,
        );
        audit_log::record(db, &event).await?;
        crate::server::metrics::login_failure("code");
        // A few wrong codes end the wait: the password must be typed again.
        if session::wrong_code(session).await? {
            return Ok(LoginOutcome::Expired);
        }
        return Ok(LoginOutcome::Refused);
    };
    login_throttle::forget(db, &counted).await?;
    let how = format!("logged in with the password and {how}");
    finish_login(deps, session, &admin, &actor, &subjects, false, &how).await
}

/// Ends the session, and records who logged out.
#[tracing::instrument(skip_all)]
pub async fn log_out(
    deps: &SessionDeps,
    session: &Session,
    admin: Option<&CurrentAdmin>,
) -> Result<(), AppError> {
    let login_id = session::login_id(session).await?;
    session.flush().await?;
    if let Some(login_id) = login_id {
        admins::end_login(&deps.db, &login_id).await?;
    }
    if let Some(admin) = admin {
        let event = admin
            .actor()
            .event(AuditKind::Logout, "logged out", deps.clock.now());
        audit_log::record(&deps.db, &event).await?;
    }
    Ok(())
}

pub fn summary(admin: CurrentAdmin) -> AdminSummary {
    AdminSummary {
        username: admin.username,
        must_change_password: admin.must_change_password,
        must_enrol_mfa: admin.must_enrol_mfa,
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
    let audit = admin.actor().event(
        AuditKind::PasswordChanged,
        "changed their own password; their other sessions ended",
        now,
    );
    let epoch = admins::set_password(&deps.sessions.db, admin.id, &hash, &audit)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    session::continue_with_epoch(&deps.sessions.db, session, admin.id, epoch, now).await?;
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
    let subjects = throttle::subjects(&admin.username, &address, None);
    let now = deps.sessions.clock.now();
    let _turn = deps.turns.take(&admin.username, &address).await;
    let policy = &deps.sessions.auth.throttle;
    if let ThrottleDecision::Refused { retry_after_secs } =
        login_throttle::check(db, policy, &subjects, now).await?
    {
        return Err(AppError::invalid(
            "current_password",
            format!("too many wrong passwords; try again in {retry_after_secs} seconds"),
        ));
    }
    let counted = login_throttle::record_attempt(db, &subjects, now).await?;
    let record = admins::find_by_id(db, admin.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let verified = match deps
        .passwords
        .verify(password, Some(&record.password_hash))
        .await
    {
        Ok(verified) => verified,
        Err(err) => {
            login_throttle::forget(db, &counted).await?;
            return Err(err.into());
        }
    };
    if !verified {
        return Err(AppError::invalid(
            "current_password",
            "this is not your current password",
        ));
    }
    login_throttle::forget(db, &counted).await?;
    Ok(())
}
