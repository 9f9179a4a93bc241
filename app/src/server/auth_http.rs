//! Plain HTML-form endpoints for logging in and out, and the health check. Login is a form POST
//! handled here rather than a server function so it works identically with and without
//! JavaScript, and answers with a redirect (post/redirect/get).

use crate::domain::credentials::normalize_login_name;
use crate::domain::next_path::safe_next_path;
use crate::domain::percent::encode_query;
use crate::domain::throttle::ThrottleDecision;
use crate::server::guard::PASSWORD_CHANGE_PATH;
use crate::server::state::AppState;
use crate::server::{admins, login_throttle, session};
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

/// An error that must not reach the page in detail: logged, answered with a generic 500.
pub struct InternalError(String);

impl<E: std::fmt::Display> From<E> for InternalError {
    fn from(err: E) -> Self {
        Self(err.to_string())
    }
}

impl IntoResponse for InternalError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "affdesk could not complete this request. Try again; if it keeps failing, the server log says why.",
        )
            .into_response()
    }
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
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, InternalError> {
    let address = client_address(peer, &headers, state.auth.trust_forwarded_for);
    let username = normalize_login_name(&form.username);
    let next = safe_next_path(&form.next).unwrap_or("/");
    let now = state.clock.now();

    if let ThrottleDecision::Refused { retry_after_secs } =
        login_throttle::check(&state.db, &state.auth.throttle, &username, &address, now).await?
    {
        tracing::warn!(%username, %address, retry_after_secs, "login refused: throttled");
        return Ok(back_to_login(
            LOGIN_THROTTLED,
            Some(retry_after_secs),
            &username,
            next,
        ));
    }

    let admin = admins::find_by_username(&state.db, &username).await?;
    let verified = state
        .passwords
        .verify(
            &form.password,
            admin.as_ref().map(|a| a.password_hash.as_str()),
        )
        .await?;
    match admin.filter(|_| verified) {
        Some(admin) => {
            login_throttle::clear_username(&state.db, &username).await?;
            session::start(&session, &admin, now).await?;
            tracing::info!(admin = %admin.username, %address, "admin logged in");
            let target = if admin.must_change_password {
                PASSWORD_CHANGE_PATH
            } else {
                next
            };
            Ok(Redirect::to(target).into_response())
        }
        None => {
            login_throttle::record_failure(&state.db, &username, &address, now).await?;
            tracing::warn!(%username, %address, "failed login");
            Ok(back_to_login(LOGIN_FAILED, None, &username, next))
        }
    }
}

pub async fn logout(session: Session) -> Result<Response, InternalError> {
    session.flush().await?;
    Ok(Redirect::to(&format!("/login?{}", encode_query([("info", LOGGED_OUT)]))).into_response())
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
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
