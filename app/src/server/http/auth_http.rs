//! Plain HTML-form endpoints for logging in and out, and the health check. Login is a form POST
//! handled here rather than a server function so it works identically with and without
//! JavaScript, and answers with a redirect (post/redirect/get).

use crate::domain::credentials::normalize_login_name;
use crate::domain::next_path::safe_next_path;
use crate::domain::percent::encode_query;
use crate::server::http::guard::{client_address, PASSWORD_CHANGE_PATH};
use crate::server::http::session::CurrentAdmin;
use crate::server::security::device;
use crate::server::state::{AccountDeps, SessionDeps};
use crate::server::storage::db::Db;
use crate::service::accounts::{self, LoginAttempt, LoginOutcome, SecondFactorAttempt};
use crate::service::error::AppError;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::Session;

/// What the login page says after a failed attempt; the page owns the wording.
pub const LOGIN_FAILED: &str = "invalid";
pub const LOGIN_THROTTLED: &str = "throttled";
pub const LOGGED_OUT: &str = "logged_out";
/// The login waited too long for its second factor (or there was none): type the password again.
pub const LOGIN_EXPIRED: &str = "expired";
/// Where a login whose password was right asks for the second factor.
pub const SECOND_FACTOR_PATH: &str = "/login/mfa";

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct SecondFactorForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// Back to a login form (`path`: the password's or the second factor's), saying why with a code,
/// keeping the username typed (the password form) and where to go after.
fn back_to(
    path: &str,
    code: &str,
    retry_after: Option<u64>,
    username: Option<&str>,
    next: &str,
) -> Response {
    let retry = retry_after.map(|s| s.to_string()).unwrap_or_default();
    let mut pairs = vec![("error", code)];
    if let Some(username) = username {
        pairs.push(("username", username));
    }
    if retry_after.is_some() {
        pairs.push(("retry", retry.as_str()));
    }
    if next != "/" {
        pairs.push(("next", next));
    }
    Redirect::to(&format!("{path}?{}", encode_query(pairs))).into_response()
}

fn back_to_login(code: &str, retry_after: Option<u64>, username: &str, next: &str) -> Response {
    back_to("/login", code, retry_after, Some(username), next)
}

/// The second-factor page again, saying why.
fn second_factor_again(code: &str, retry_after: Option<u64>, next: &str) -> Response {
    back_to(SECOND_FACTOR_PATH, code, retry_after, None, next)
}

/// The browser's device cookie, when it sent one.
fn device_cookie(headers: &HeaderMap, secure: bool) -> Option<&str> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    device::cookie_value(cookies, device::cookie_name(secure))
}

pub async fn login(
    State(deps): State<AccountDeps>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let address = client_address(peer, &headers, &deps.sessions.auth.trusted_proxies);
    let username = normalize_login_name(&form.username);
    let next = safe_next_path(&form.next).unwrap_or("/");
    let secure = deps.sessions.auth.secure_cookies;
    let attempt = LoginAttempt {
        username: &form.username,
        password: &form.password,
        address: &address,
        device: device_cookie(&headers, secure),
    };
    let outcome = accounts::log_in(&deps, &session, attempt).await?;
    Ok(answer_login(
        outcome,
        Step::Password(&username),
        next,
        secure,
    ))
}

/// Which form a login outcome answers: the password's (with the username typed) or the second
/// factor's.
#[derive(Clone, Copy)]
enum Step<'a> {
    Password(&'a str),
    SecondFactor,
}

/// Where a login attempt (its password or its second factor) sends the browser.
fn answer_login(outcome: LoginOutcome, step: Step<'_>, next: &str, secure: bool) -> Response {
    match (outcome, step) {
        (
            LoginOutcome::LoggedIn {
                must_change_password,
                device_cookie,
            },
            _,
        ) => {
            let target = if must_change_password {
                PASSWORD_CHANGE_PATH
            } else {
                next
            };
            let mut res = Redirect::to(target).into_response();
            if let Ok(value) = HeaderValue::from_str(&device_cookie_header(&device_cookie, secure))
            {
                res.headers_mut().append(header::SET_COOKIE, value);
            }
            res
        }
        (LoginOutcome::SecondFactor, _) => {
            let query = if next == "/" {
                String::new()
            } else {
                format!("?{}", encode_query([("next", next)]))
            };
            Redirect::to(&format!("{SECOND_FACTOR_PATH}{query}")).into_response()
        }
        (LoginOutcome::Refused, Step::SecondFactor) => {
            second_factor_again(LOGIN_FAILED, None, next)
        }
        (LoginOutcome::Throttled { retry_after_secs }, Step::SecondFactor) => {
            second_factor_again(LOGIN_THROTTLED, Some(retry_after_secs), next)
        }
        (LoginOutcome::Refused, Step::Password(username)) => {
            back_to_login(LOGIN_FAILED, None, username, next)
        }
        (LoginOutcome::Throttled { retry_after_secs }, Step::Password(username)) => {
            back_to_login(LOGIN_THROTTLED, Some(retry_after_secs), username, next)
        }
        (LoginOutcome::Expired, _) => back_to_login(LOGIN_EXPIRED, None, "", next),
    }
}

/// The second-factor form: a code from the authenticator app or a recovery code.
pub async fn second_factor(
    State(deps): State<AccountDeps>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SecondFactorForm>,
) -> Result<Response, AppError> {
    let address = client_address(peer, &headers, &deps.sessions.auth.trusted_proxies);
    let next = safe_next_path(&form.next).unwrap_or("/");
    let secure = deps.sessions.auth.secure_cookies;
    let attempt = SecondFactorAttempt {
        code: &form.code,
        address: &address,
        device: device_cookie(&headers, secure),
    };
    let outcome = accounts::log_in_second_factor(&deps, &session, attempt).await?;
    Ok(answer_login(outcome, Step::SecondFactor, next, secure))
}

/// The device cookie: for the login form only (`Path=/login`, so no other request carries it),
/// not readable by scripts, kept a year. With `Secure` it is `__Host-` prefixed, which needs
/// `Path=/`.
fn device_cookie_header(value: &str, secure: bool) -> String {
    let max_age = device::DEVICE_LIFETIME.num_seconds();
    let name = device::cookie_name(secure);
    if secure {
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict; Secure")
    } else {
        format!("{name}={value}; Path=/login; Max-Age={max_age}; HttpOnly; SameSite=Strict")
    }
}

pub async fn logout(
    State(deps): State<SessionDeps>,
    admin: Option<axum::Extension<CurrentAdmin>>,
    session: Session,
) -> Result<Response, AppError> {
    let admin = admin.map(|axum::Extension(admin)| admin);
    accounts::log_out(&deps, &session, admin.as_ref()).await?;
    Ok(Redirect::to(&format!("/login?{}", encode_query([("info", LOGGED_OUT)]))).into_response())
}

pub async fn healthz(State(db): State<Db>) -> Response {
    match db.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
