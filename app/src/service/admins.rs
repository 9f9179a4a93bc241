//! Settings → Admins and the `affdesk admin` commands, one implementation: listing admins,
//! creating one, disabling and enabling, resetting a password to a one-time one or two-step
//! login (a lost phone), ending an admin's sessions. Nobody can disable themselves or the last admin who can still log in.

use super::error::AppError;
use crate::domain::credentials::{normalize_login_name, Password, Username};
use crate::domain::states::AuditKind;
use crate::model::admins::{AdminAction, AdminView};
use crate::model::affiliate::format_time;
use crate::server::security::passwords::PasswordService;
use crate::server::security::tokens::random_token;
use crate::server::storage::admins::{self, AccountChange, Change, CreateOutcome};
use crate::server::storage::audit_log::Actor;
use crate::server::storage::db::Db;
use chrono::{DateTime, TimeDelta, Utc};

/// Every admin, for the page; `viewer` is the admin looking.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    viewer: i64,
    now: DateTime<Utc>,
    idle: TimeDelta,
    lifetime: TimeDelta,
) -> Result<Vec<AdminView>, AppError> {
    Ok(admins::list(db, now, idle, lifetime)
        .await?
        .into_iter()
        .map(|row| AdminView {
            is_you: row.id == viewer,
            username: row.username,
            created_at: format_time(row.created_at),
            last_login: row.last_login_at.map(format_time),
            disabled: row.disabled,
            mfa: row.mfa,
            sessions: row.sessions,
        })
        .collect())
}

/// Creates an admin. With `password` (the command line), that is their password; without (the
/// page), a one-time password is made, to be shown once, and must be replaced at their first
/// login. Returns the password they were created with.
#[tracing::instrument(skip_all, fields(by = %actor.name))]
pub async fn create(
    db: &Db,
    passwords: &PasswordService,
    actor: &Actor,
    username: &str,
    password: Option<Password>,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let username =
        Username::parse(username).map_err(|e| AppError::invalid("username", e.to_string()))?;
    let one_time = password.is_none();
    let password = match password {
        Some(chosen) => chosen.expose().to_owned(),
        None => random_token(12),
    };
    let hash = passwords.hash(&password).await?;
    let how = if one_time {
        "with a one-time password"
    } else {
        "with a password set on the command line"
    };
    let audit = actor.event(
        AuditKind::AdminCreated,
        format!("admin '{username}' created {how}"),
        now,
    );
    match admins::create(db, &username, &hash, one_time, &audit).await? {
        CreateOutcome::Created(_) => {
            tracing::info!(admin = %username, by = %actor.name, "admin created");
            Ok(password)
        }
        CreateOutcome::UsernameTaken => Err(AppError::invalid(
            "username",
            format!("an admin named '{username}' already exists; choose another username"),
        )),
    }
}

/// How the audit log records `action`.
fn described(action: AdminAction) -> (AuditKind, &'static str) {
    match action {
        AdminAction::Disable => (AuditKind::AdminDisabled, "disabled; their sessions ended"),
        AdminAction::Enable => (AuditKind::AdminEnabled, "enabled"),
        AdminAction::ResetPassword => (
            AuditKind::AdminPasswordReset,
            "password reset to a one-time password; their sessions ended",
        ),
        AdminAction::EndSessions => (AuditKind::AdminSessionsEnded, "sessions ended"),
        AdminAction::ResetMfa => (
            AuditKind::MfaReset,
            "two-step login turned off (authenticator and recovery codes removed); their sessions ended",
        ),
    }
}

/// Who asks for a change: the admin on the page (who may not disable themselves), or the
/// command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    Admin(i64),
    CommandLine,
}

/// Applies `action` to the admin named `username`. Returns the new one-time password of a
/// password reset, to be shown once.
#[tracing::instrument(skip_all, fields(by = %actor.name, %username, action = action.as_str()))]
pub async fn change(
    db: &Db,
    passwords: &PasswordService,
    actor: &Actor,
    requester: Requester,
    username: &str,
    action: AdminAction,
    now: DateTime<Utc>,
) -> Result<Option<String>, AppError> {
    let username = normalize_login_name(username);
    let username = username.as_str();
    let Some(target) = admins::find_by_username(db, username).await? else {
        return Err(AppError::invalid(
            "username",
            format!("no admin is named '{username}'"),
        ));
    };
    if action == AdminAction::Disable && requester == Requester::Admin(target.id) {
        return Err(AppError::invalid(
            "username",
            "you cannot disable yourself; another admin can",
        ));
    }
    let (change, one_time) = match action {
        AdminAction::Disable => (Change::Disable, None),
        AdminAction::Enable => (Change::Enable, None),
        AdminAction::EndSessions => (Change::EndSessions, None),
        AdminAction::ResetMfa => (Change::ResetMfa, None),
        AdminAction::ResetPassword => {
            let password = random_token(12);
            let hash = passwords.hash(&password).await?;
            (Change::ResetPassword(hash), Some(password))
        }
    };
    let (kind, summary) = described(action);
    let audit = actor.event(kind, format!("admin '{username}' {summary}"), now);
    match admins::change_account(db, target.id, change, &audit).await? {
        AccountChange::Done => {
            tracing::info!(admin = %username, by = %actor.name, action = action.as_str(), "admin changed");
            Ok(one_time)
        }
        AccountChange::Unknown => Err(AppError::invalid("username", format!("no admin is named '{username}'"))),
        AccountChange::LastActive => Err(AppError::invalid(
            "username",
            format!("'{username}' is the only admin who can log in; enable or create another admin first"),
        )),
    }
}
