//! What an admin's session holds and how it starts, stays alive and ends.
//!
//! The session stores the admin id and the admin's session epoch at login. A password change
//! bumps the epoch in the database, so every other session of that admin stops matching and is
//! refused at its next request, without having to find those sessions in the store.

use crate::server::state::SessionDeps;
use crate::server::storage::admins::{self, AdminRecord};
use crate::server::storage::audit_log::Actor;
use crate::server::storage::db::Db;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

pub const SESSION_COOKIE: &str = "affdesk_session";
/// The cookie's name when it is `Secure`: the `__Host-` prefix makes browsers refuse it unless
/// it is Secure, for this host only (no `Domain`) and for every path, so a sibling subdomain or
/// a plain-HTTP page cannot plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-affdesk_session";

/// The session cookie's name: `__Host-` prefixed whenever the cookie is `Secure`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}
const AUTH_KEY: &str = "auth";
/// A login whose password was right, waiting for its second factor.
const PENDING_KEY: &str = "mfa_pending";
/// How long a login waits for its second factor before the password must be typed again.
pub const SECOND_FACTOR_WINDOW: TimeDelta = TimeDelta::minutes(5);
/// Writing the session on every request would turn each page view into a database write; a
/// minute's precision is plenty for a 30-minute idle timeout.
const TOUCH_INTERVAL: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthRecord {
    admin_id: i64,
    epoch: i64,
    touched_at: DateTime<Utc>,
    /// When the admin logged in; a session ends this long after it however busy it is. Absent
    /// in sessions opened before the limit existed, which count from their last use.
    #[serde(default)]
    started_at: Option<DateTime<Utc>>,
    /// Two-step login is required (`AFFDESK_REQUIRE_MFA`) and this admin has not set it up:
    /// nothing but the set-up page until they do.
    #[serde(default)]
    enrol_mfa: bool,
    /// This login's row in `admin_sessions` (Settings → Admins counts them). Absent in sessions
    /// opened before the page existed.
    #[serde(default)]
    login_id: Option<String>,
}

/// A login past its password, waiting for the second factor (this browser only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub admin_id: i64,
    pub epoch: i64,
    until: DateTime<Utc>,
    /// Wrong codes so far; at [`WRONG_CODES_PER_LOGIN`] the login is forgotten.
    #[serde(default)]
    wrong_codes: u8,
}

/// Wrong codes one login may get before its password must be typed again.
pub const WRONG_CODES_PER_LOGIN: u8 = 5;

/// The admin a request acts for; put into request extensions by the guard.
#[derive(Debug, Clone)]
pub struct CurrentAdmin {
    pub id: i64,
    pub username: String,
    pub must_change_password: bool,
    /// Must set up two-step login before anything else.
    pub must_enrol_mfa: bool,
    /// The client's address (behind a trusted proxy, the one it names), for the audit log.
    pub address: String,
}

impl CurrentAdmin {
    /// This admin, from this address, as the audit log records them.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.username.clone(),
            address: self.address.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session store: {0}")]
    Store(#[from] tower_sessions::session::Error),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Opens an authenticated session under a fresh id, so an id planted before login (session
/// fixation) or the id of an earlier session never becomes the authenticated one. `enrol_mfa`
/// keeps the admin on the two-step set-up page until they finish it.
pub async fn start(
    session: &Session,
    admin: &AdminRecord,
    now: DateTime<Utc>,
    enrol_mfa: bool,
    login_id: &str,
) -> Result<(), SessionError> {
    session.cycle_id().await?;
    session.remove::<PendingLogin>(PENDING_KEY).await?;
    let record = AuthRecord {
        admin_id: admin.id,
        epoch: admin.session_epoch,
        touched_at: now,
        started_at: Some(now),
        enrol_mfa,
        login_id: Some(login_id.to_owned()),
    };
    session.insert(AUTH_KEY, record).await?;
    Ok(())
}

/// After a right password for an admin with two-step login: the session (under a fresh id)
/// waits for the second factor, for [`SECOND_FACTOR_WINDOW`]; it is not logged in yet.
pub async fn await_second_factor(
    session: &Session,
    admin: &AdminRecord,
    now: DateTime<Utc>,
) -> Result<(), SessionError> {
    session.cycle_id().await?;
    session.remove::<AuthRecord>(AUTH_KEY).await?;
    let pending = PendingLogin {
        admin_id: admin.id,
        epoch: admin.session_epoch,
        until: now + SECOND_FACTOR_WINDOW,
        wrong_codes: 0,
    };
    session.insert(PENDING_KEY, pending).await?;
    Ok(())
}

/// The login waiting for its second factor in this session, unless there is none or it has
/// waited too long (then it is forgotten).
pub async fn pending_login(
    session: &Session,
    now: DateTime<Utc>,
) -> Result<Option<PendingLogin>, SessionError> {
    let Some(pending) = session.get::<PendingLogin>(PENDING_KEY).await? else {
        return Ok(None);
    };
    if now > pending.until {
        session.remove::<PendingLogin>(PENDING_KEY).await?;
        return Ok(None);
    }
    Ok(Some(pending))
}

/// Counts a wrong code against the waiting login; `true` when that was one too many and the
/// login was forgotten.
pub async fn wrong_code(session: &Session) -> Result<bool, SessionError> {
    let Some(mut pending) = session.get::<PendingLogin>(PENDING_KEY).await? else {
        return Ok(true);
    };
    pending.wrong_codes = pending.wrong_codes.saturating_add(1);
    if pending.wrong_codes >= WRONG_CODES_PER_LOGIN {
        session.remove::<PendingLogin>(PENDING_KEY).await?;
        return Ok(true);
    }
    session.insert(PENDING_KEY, pending).await?;
    Ok(false)
}

/// This session's login id (its row in `admin_sessions`), when it is logged in.
pub async fn login_id(session: &Session) -> Result<Option<String>, SessionError> {
    Ok(session
        .get::<AuthRecord>(AUTH_KEY)
        .await?
        .and_then(|r| r.login_id))
}

/// Two-step login is set up: this session may go everywhere again.
pub async fn mfa_enrolled(session: &Session) -> Result<(), SessionError> {
    if let Some(mut record) = session.get::<AuthRecord>(AUTH_KEY).await? {
        record.enrol_mfa = false;
        session.insert(AUTH_KEY, record).await?;
    }
    Ok(())
}

/// After a change that ends the admin's other sessions (a new epoch: their password, turning on
/// two-step login): this session continues under a new id and the new epoch, and its row in
/// `admin_sessions` with it.
pub async fn continue_with_epoch(
    db: &Db,
    session: &Session,
    admin_id: i64,
    epoch: i64,
    now: DateTime<Utc>,
) -> Result<(), SessionError> {
    let previous = session.get::<AuthRecord>(AUTH_KEY).await?;
    // The session keeps the time of its login: the change does not extend its life.
    let started_at = previous.as_ref().and_then(|r| r.started_at).unwrap_or(now);
    let enrol_mfa = previous.as_ref().is_some_and(|r| r.enrol_mfa);
    let login_id = previous.and_then(|r| r.login_id);
    session.cycle_id().await?;
    if let Some(login_id) = &login_id {
        admins::carry_login(db, login_id, epoch, now).await?;
    }
    let record = AuthRecord {
        admin_id,
        epoch,
        touched_at: now,
        started_at: Some(started_at),
        enrol_mfa,
        login_id,
    };
    session.insert(AUTH_KEY, record).await?;
    Ok(())
}

/// The admin this session belongs to (its `address` left for the caller, which knows the
/// request), or `None` when it is anonymous, idle too long, older than
/// its absolute lifetime, or was ended by a password change. Ended sessions are deleted from the store.
pub async fn current_admin(
    deps: &SessionDeps,
    session: &Session,
) -> Result<Option<CurrentAdmin>, SessionError> {
    let Some(mut record) = session.get::<AuthRecord>(AUTH_KEY).await? else {
        return Ok(None);
    };
    let now = deps.clock.now();
    let started_at = record.started_at.unwrap_or(record.touched_at);
    if now - record.touched_at > deps.auth.idle_timeout || now - started_at > deps.auth.max_lifetime
    {
        session.flush().await?;
        return Ok(None);
    }
    let admin = admins::find_by_id(&deps.db, record.admin_id).await?;
    let Some(admin) = admin.filter(|a| a.session_epoch == record.epoch && !a.disabled) else {
        session.flush().await?;
        return Ok(None);
    };
    let must_enrol_mfa = record.enrol_mfa;
    if now - record.touched_at >= TOUCH_INTERVAL {
        if let Some(login_id) = &record.login_id {
            admins::touch_login(&deps.db, login_id, now).await?;
        }
        record.touched_at = now;
        session.insert(AUTH_KEY, record).await?;
    }
    Ok(Some(CurrentAdmin {
        id: admin.id,
        username: admin.username,
        must_change_password: admin.must_change_password,
        must_enrol_mfa,
        address: String::new(),
    }))
}
