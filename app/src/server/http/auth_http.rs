//! Plain HTML-form endpoints for logging in and out, and the health check. Login is a form POST
//! handled here rather than a server function so it works identically with and without
//! JavaScript, and answers with a redirect (post/redirect/get).

use crate::domain::credentials::normalize_login_name;
use crate::domain::next_path::safe_next_path;
use crate::domain::percent::encode_query;
use crate::server::http::guard::PASSWORD_CHANGE_PATH;
use crate::server::state::AccountDeps;
use crate::server::storage::db::Db;
use crate::service::accounts::{self, LoginAttempt, LoginOutcome};
use crate::service::error::AppError;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::Session;

/// What the login page says after a failed attempt; the page owns the wording.
pub const LOGIN_FAILED: &str = "invalid";
pub const LOGIN_THROTTLED: &str = "throttled";
pub const LOGGED_OUT: &str = "logged_out";

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// The client's address: the TCP peer, or behind a trusted reverse proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself appended).
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        if let Some(last) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return last.to_owned();
        }
    }
    peer.ip().to_string()
}

fn back_to_login(code: &str, retry_after: Option<u64>, username: &str, next: &str) -> Response {
    let retry = retry_after.map(|s| s.to_string()).unwrap_or_default();
    let mut pairs = vec![("error", code), ("username", username)];
    if retry_after.is_some() {
        pairs.push(("retry", retry.as_str()));
    }
    if next != "/" {
        pairs.push(("next", next));
    }
    Redirect::to(&format!("/login?{}", encode_query(pairs))).into_response()
}

pub async fn login(
    State(deps): State<AccountDeps>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let address = client_address(peer, &headers, deps.sessions.auth.trust_forwarded_for);
    let username = normalize_login_name(&form.username);
    let next = safe_next_path(&form.next).unwrap_or("/");
    let attempt = LoginAttempt {
        username: &form.username,
        password: &form.password,
        address: &address,
    };
    Ok(match accounts::log_in(&deps, &session, attempt).await? {
        LoginOutcome::LoggedIn {
            must_change_password: true,
        } => Redirect::to(PASSWORD_CHANGE_PATH).into_response(),
        LoginOutcome::LoggedIn { .. } => Redirect::to(next).into_response(),
        LoginOutcome::Refused => back_to_login(LOGIN_FAILED, None, &username, next),
        LoginOutcome::Throttled { retry_after_secs } => {
            back_to_login(LOGIN_THROTTLED, Some(retry_after_secs), &username, next)
        }
    })
}

pub async fn logout(session: Session) -> Result<Response, AppError> {
    session.flush().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.1.1.1, 203.0.113.7".parse().unwrap());
        assert_eq!(client_address(peer, &headers, false), "10.0.0.1");
        assert_eq!(client_address(peer, &headers, true), "203.0.113.7");
        assert_eq!(client_address(peer, &HeaderMap::new(), true), "10.0.0.1");
    }
}
