//! Request guards applied to every route: the session check, the cross-site request check and the
//! security headers. Being middleware, they cover routes and server functions added later without
//! anyone remembering to call them.

use crate::api::error::ApiError;
use crate::domain::percent::encode_query;
use crate::server::session::{self, CurrentAdmin};
use crate::server::state::{AppState, AuthConfig};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// Paths anyone may request. Everything else needs a logged-in admin.
/// `/api/v1/signups` needs no session: it checks its own bearer token.
pub const PUBLIC_PATHS: &[&str] = &[
    "/login",
    "/healthz",
    "/favicon.ico",
    "/favicon.svg",
    "/robots.txt",
    "/api/v1/signups",
];
/// Static assets built by cargo-leptos (the wasm bundle, its JavaScript and the stylesheet),
/// and the signup-complete pages customers are sent to (random, expiring tokens).
pub const PUBLIC_PREFIXES: &[&str] = &["/pkg/", "/signup/complete/"];
/// Where server functions live; they answer 401 instead of redirecting.
pub const SERVER_FN_PREFIX: &str = "/api/";
/// What an admin who must replace a one-time password may still reach.
pub const PASSWORD_CHANGE_PATH: &str = "/account/password";
const ALLOWED_BEFORE_PASSWORD_CHANGE: &[&str] = &[
    PASSWORD_CHANGE_PATH,
    "/logout",
    "/api/change_password",
    "/api/whoami",
];

pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

fn is_server_fn(path: &str) -> bool {
    path.starts_with(SERVER_FN_PREFIX)
}

/// A server function's error as its client expects it: the typed error, JSON-encoded.
pub fn api_error_response(status: StatusCode, error: &ApiError) -> Response {
    let body = serde_json::to_string(error).unwrap_or_else(|_| "\"Internal\"".to_owned());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Lets a request through only with a valid admin session, which it records in the request's
/// extensions as [`CurrentAdmin`]. Pages redirect to the login page, carrying the path in `next`.
pub async fn require_admin(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if is_public(&path) {
        return next.run(req).await;
    }
    let admin = match session::current_admin(&state, &session).await {
        Ok(admin) => admin,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the session");
            return if is_server_fn(&path) {
                api_error_response(StatusCode::SERVICE_UNAVAILABLE, &ApiError::Internal)
            } else {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "affdesk cannot reach its database; try again shortly",
                )
                    .into_response()
            };
        }
    };
    let Some(admin) = admin else {
        if is_server_fn(&path) {
            return api_error_response(StatusCode::UNAUTHORIZED, &ApiError::Unauthorized);
        }
        let wanted = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let target = if req.method() == Method::GET && wanted != "/" {
            format!("/login?{}", encode_query([("next", wanted)]))
        } else {
            "/login".to_owned()
        };
        return Redirect::to(&target).into_response();
    };
    if admin.must_change_password && !ALLOWED_BEFORE_PASSWORD_CHANGE.contains(&path.as_str()) {
        if is_server_fn(&path) {
            return api_error_response(StatusCode::FORBIDDEN, &ApiError::PasswordChangeRequired);
        }
        return Redirect::to(PASSWORD_CHANGE_PATH).into_response();
    }
    req.extensions_mut().insert::<CurrentAdmin>(admin);
    next.run(req).await
}

/// True when a state-changing request comes from another site: `Sec-Fetch-Site: cross-site`, or
/// an `Origin` that is not this application's.
pub fn is_cross_site(method: &Method, headers: &HeaderMap, config: &AuthConfig) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if header_str("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    match &config.public_origin {
        Some(own) => !origin.eq_ignore_ascii_case(own.trim_end_matches('/')),
        None => {
            let origin_authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match (origin_authority, header_str(header::HOST.as_str())) {
                (Some(from), Some(host)) => !from.eq_ignore_ascii_case(host),
                _ => true,
            }
        }
    }
}

/// Refuses cross-site state-changing requests with 403 (CSRF defence in depth beside the
/// SameSite=Lax session cookie).
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if is_cross_site(req.method(), req.headers(), &state.auth) {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "refused a cross-site request");
        return if is_server_fn(req.uri().path()) {
            api_error_response(StatusCode::FORBIDDEN, &ApiError::CrossSite)
        } else {
            (
                StatusCode::FORBIDDEN,
                "affdesk refused this request because it came from another site.",
            )
                .into_response()
        };
    }
    next.run(req).await
}

/// The policy for every response. HTML pages replace it with one that also allows the inline
/// hydration script by its per-response nonce (see `app::shell`).
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub async fn security_headers(req: Request<Body>, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy(None)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_and_originless_posts_pass() {
        let config = AuthConfig::default();
        let post = Method::POST;
        assert!(!is_cross_site(
            &post,
            &headers(&[("host", "127.0.0.1:3000")]),
            &config
        ));
        assert!(!is_cross_site(
            &post,
            &headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000")
            ]),
            &config
        ));
        assert!(!is_cross_site(
            &post,
            &headers(&[("host", "a"), ("sec-fetch-site", "same-origin")]),
            &config
        ));
    }

    #[test]
    fn foreign_origins_and_cross_site_fetches_are_refused() {
        let config = AuthConfig::default();
        let post = Method::POST;
        for h in [
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]),
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3001"),
            ]),
            headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site")]),
        ] {
            assert!(is_cross_site(&post, &h, &config), "{h:?}");
        }
        assert!(!is_cross_site(
            &Method::GET,
            &headers(&[("origin", "https://evil.example")]),
            &config
        ));
    }

    #[test]
    fn a_configured_public_origin_is_the_only_one_accepted() {
        let config = AuthConfig {
            public_origin: Some("https://affdesk.example.com".into()),
            ..AuthConfig::default()
        };
        let ok = headers(&[
            ("host", "internal:3000"),
            ("origin", "https://affdesk.example.com"),
        ]);
        let bad = headers(&[
            ("host", "internal:3000"),
            ("origin", "http://internal:3000"),
        ]);
        assert!(!is_cross_site(&Method::POST, &ok, &config));
        assert!(is_cross_site(&Method::POST, &bad, &config));
    }

    #[test]
    fn public_paths_are_few_and_named() {
        assert!(is_public("/login"));
        assert!(is_public("/pkg/affdesk.wasm"));
        assert!(!is_public("/"));
        assert!(!is_public("/login/../settings"));
        assert!(!is_public("/api/whoami"));
    }
}
