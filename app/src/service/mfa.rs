//! Two-step login: setting up an authenticator app, checking a login's second factor (a code
//! from the app, or a single-use recovery code), and resetting it for a lost phone.

use super::error::AppError;
use crate::domain::states::AuditKind;
use crate::domain::totp;
use crate::model::account::{MfaEnrolment, MfaStatus};
use crate::server::http::session::{self, CurrentAdmin};
use crate::server::security::secrets::SecretBox;
use crate::server::state::AccountDeps;
use crate::server::storage::admins::AdminRecord;

use crate::server::storage::db::Db;
use crate::server::storage::mfa;
use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::ExposeSecret;
use tower_sessions::Session;

/// What a recovery code's keyed hash is made for (see `SecretBox::fingerprint`).
const RECOVERY_PURPOSE: &str = "mfa-recovery-code/v1";
/// The issuer an authenticator app lists the account under.
const ISSUER: &str = "affdesk";

#[tracing::instrument(skip_all, fields(admin = %admin.username))]
pub async fn status(deps: &AccountDeps, admin: &CurrentAdmin) -> Result<MfaStatus, AppError> {
    let db = &deps.sessions.db;
    let enabled = enabled(db, admin.id).await?;
    Ok(MfaStatus {
        enabled,
        recovery_codes_left: if enabled {
            mfa::recovery_codes_left(db, admin.id).await?
        } else {
            0
        },
        required: deps.sessions.auth.require_mfa,
    })
}

/// Begins setting up an authenticator app with a new secret (stored sealed, not yet in force).
#[tracing::instrument(skip_all, fields(admin = %admin.username))]
pub async fn begin_enrolment(
    deps: &AccountDeps,
    admin: &CurrentAdmin,
) -> Result<MfaEnrolment, AppError> {
    let mut secret = [0u8; totp::SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let encoded = totp::base32_encode(&secret);
    let now = deps.sessions.clock.now();
    let sealed = deps.secrets.seal(&encoded);
    if !mfa::begin(&deps.sessions.db, admin.id, &sealed, now).await? {
        return Err(AppError::invalid(
            "code",
            "two-step login is already on for your account",
        ));
    }
    let uri = totp::otpauth_uri(ISSUER, &admin.username, &encoded);
    Ok(MfaEnrolment {
        secret: grouped(&encoded),
        qr_svg: totp::qr_svg(&uri),
    })
}

/// The secret in groups of four, easier to type into an app by hand.
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Turns two-step login on once a code from the app proves it holds the secret, and returns the
/// ten recovery codes, shown this once (only their keyed hashes are kept).
#[tracing::instrument(skip_all, fields(admin = %admin.username))]
pub async fn confirm_enrolment(
    deps: &AccountDeps,
    session: &Session,
    admin: &CurrentAdmin,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let db = &deps.sessions.db;
    let now = deps.sessions.clock.now();
    let pending = mfa::get(db, admin.id).await?.filter(|row| !row.enabled());
    let Some(pending) = pending else {
        return Err(AppError::invalid(
            "code",
            "start the set-up first (or reload the page: it is already on)",
        ));
    };
    let secret = open_secret(&deps.secrets, &pending.secret_sealed)?;
    let Some(step) = totp::verify(&secret, code, now.timestamp(), None) else {
        return Err(AppError::invalid(
            "code",
            "that is not the app's current code: type the six digits it shows now, and check that the phone's clock is right",
        ));
    };
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| deps.secrets.fingerprint(RECOVERY_PURPOSE, c))
        .collect();
    let audit = admin.actor().event(
        AuditKind::MfaEnabled,
        "turned on two-step login; ten new recovery codes issued",
        now,
    );
    let sealed = &pending.secret_sealed;
    let Some(epoch) = mfa::enable(db, admin.id, sealed, step as i64, &hashes, &audit).await? else {
        return Err(AppError::invalid(
            "code",
            "the set-up was started again elsewhere (or is already done): reload the page",
        ));
    };
    session::continue_with_epoch(db, session, admin.id, epoch, now).await?;
    session::mfa_enrolled(session).await?;
    tracing::info!(admin = %admin.username, "two-step login turned on");
    Ok(codes)
}

fn new_recovery_codes() -> Vec<String> {
    (0..totp::RECOVERY_CODES)
        .map(|_| {
            let mut raw = [0u8; 10];
            rand::rng().fill_bytes(&mut raw);
            totp::format_recovery_code(&raw)
        })
        .collect()
}

/// The authenticator secret's bytes, from its sealed base32 text.
fn open_secret(secrets: &SecretBox, sealed: &str) -> Result<Vec<u8>, AppError> {
    let opened = secrets
        .open(sealed)
        .map_err(|e| AppError::internal("opening the two-step secret", e.to_string()))?;
    totp::base32_decode(opened.expose_secret())
        .ok_or_else(|| AppError::internal("reading the two-step secret", "not base32"))
}

/// Whether two-step login is on for this admin.
pub async fn enabled(db: &Db, admin_id: i64) -> Result<bool, AppError> {
    Ok(mfa::get(db, admin_id)
        .await?
        .is_some_and(|row| row.enabled()))
}

/// Checks a login's second factor: the app's code for now (one step of drift, never a step used
/// before), or one of the admin's unused recovery codes, which is then used up. Says which it
/// was, or `None` when it was neither.
pub async fn check_second_factor(
    deps: &AccountDeps,
    admin: &AdminRecord,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<&'static str>, AppError> {
    let db = &deps.sessions.db;
    let Some(row) = mfa::get(db, admin.id).await?.filter(|r| r.enabled()) else {
        return Ok(None);
    };
    let secret = open_secret(&deps.secrets, &row.secret_sealed)?;
    let last = row.last_used_step.map(|s| s as u64);
    if let Some(step) = totp::verify(&secret, code, now.timestamp(), last) {
        let fresh = mfa::use_step(db, admin.id, step as i64).await?;
        return Ok(fresh.then_some("the authenticator app's code"));
    }
    let Some(recovery) = totp::normalize_recovery_code(code) else {
        return Ok(None);
    };
    let hash = deps.secrets.fingerprint(RECOVERY_PURPOSE, &recovery);
    let used = mfa::use_recovery_code(db, admin.id, &hash, now).await?;
    if used {
        tracing::warn!(admin = %admin.username, "logged in with a recovery code");
    }
    Ok(used.then_some("a recovery code"))
}
