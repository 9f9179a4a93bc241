//! Request guards applied to every route: the session check, the cross-site request check, the
//! security headers, and the last resort for a request whose handler panicked. Being middleware, they cover routes and server functions added later without
//! anyone remembering to call them.

use crate::domain::address::AllowList;
use crate::domain::forwarded;
use crate::domain::percent::encode_query;
use crate::model::error::ApiError;
use crate::server::http::session::{self, CurrentAdmin};
use crate::server::state::{AuthConfig, SessionDeps};
use crate::service::error::{server_fn_error_response, AppError};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;
use tower_sessions::Session;

/// Paths anyone may request. Everything else needs a logged-in admin.
/// `/api/v1/signups` (and its reversals, see `is_reversal_api`) needs no session: it checks its
/// own bearer token.
pub const PUBLIC_PATHS: &[&str] = &[
    "/login",
    // The second-factor step: it answers only a session whose password was right.
    "/login/mfa",
    "/healthz",
    "/favicon.ico",
    "/favicon.svg",
    "/robots.txt",
    "/api/v1/signups",
    // The API's own description: public, as an API's description is.
    "/api/v1/openapi.json",
];
/// Static assets built by cargo-leptos (the wasm bundle, its JavaScript and the stylesheet),
/// and the signup-complete pages customers are sent to (random, expiring tokens).
/// `/assets/` holds the site's files under their build's name (`src/site.rs`), `/pkg/` the same
/// files under their plain names.
pub const PUBLIC_PREFIXES: &[&str] = &["/assets/", "/pkg/", "/signup/complete/"];
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

/// What an admin who must set up two-step login (`AFFDESK_REQUIRE_MFA`) may still reach.
const ALLOWED_BEFORE_MFA_ENROLMENT: &[&str] = &[
    crate::model::account::MFA_PATH,
    "/logout",
    "/api/whoami",
    "/api/two_step_status",
    "/api/begin_two_step",
    "/api/confirm_two_step",
];

/// Where customers are sent after a signup: the rest of the path is a secret token.
pub const SIGNUP_COMPLETE_PREFIX: &str = "/signup/complete/";

/// A request's path as it may be logged: the signup-complete page's token (a secret that opens
/// the page) is left out.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with(SIGNUP_COMPLETE_PREFIX) {
        "/signup/complete/…"
    } else {
        path
    }
}

pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path)
        || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
        || is_reversal_api(path)
}

/// `/api/v1/signups/{order_id}/reversals`: checks its own bearer token, as the intake does.
fn is_reversal_api(path: &str) -> bool {
    path.strip_prefix("/api/v1/signups/")
        .and_then(|rest| rest.strip_suffix("/reversals"))
        .is_some_and(|order_id| !order_id.is_empty() && !order_id.contains('/'))
}

fn is_server_fn(path: &str) -> bool {
    path.starts_with(SERVER_FN_PREFIX)
}

/// A refusal as its client expects it: a server function's typed error, or a page's text.
fn refuse(path: &str, error: AppError) -> Response {
    if is_server_fn(path) {
        error.server_fn_response()
    } else {
        error.into_response()
    }
}

/// Lets a request through only with a valid admin session, which it records in the request's
/// extensions as [`CurrentAdmin`]. Pages redirect to the login page, carrying the path in `next`.
pub async fn require_admin(
    State(deps): State<SessionDeps>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if is_public(&path) {
        return next.run(req).await;
    }
    let admin = match session::current_admin(&deps, &session).await {
        Ok(admin) => admin,
        Err(err) => return refuse(&path, AppError::unavailable("reading the session", err)),
    };
    let Some(mut admin) = admin else {
        if is_server_fn(&path) {
            return AppError::Refused(ApiError::Unauthorized).server_fn_response();
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
            return AppError::Refused(ApiError::PasswordChangeRequired).server_fn_response();
        }
        return Redirect::to(PASSWORD_CHANGE_PATH).into_response();
    }
    if admin.must_enrol_mfa
        && !admin.must_change_password
        && !ALLOWED_BEFORE_MFA_ENROLMENT.contains(&path.as_str())
    {
        if is_server_fn(&path) {
            return AppError::Refused(ApiError::MfaEnrolmentRequired).server_fn_response();
        }
        return Redirect::to(crate::model::account::MFA_PATH).into_response();
    }
    admin.address = request_address(&req, &deps.auth.trusted_proxies);
    req.extensions_mut().insert::<CurrentAdmin>(admin);
    let mut res = next.run(req).await;
    // What an admin sees (pages, server functions' answers such as a new API token) stays out
    // of every cache, the browser's included: a shared computer's back button or a proxy must
    // not hand it to the next person.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The client's address: the TCP peer, or behind a trusted reverse proxy the address that proxy
/// received the request from (`domain::forwarded`).
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted: &AllowList) -> String {
    let lines: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    forwarded::client_address(peer.ip(), &lines, trusted)
}

/// The client's address for a request (see [`client_address`]); `unknown` when the server did
/// not record the connection's peer.
pub fn request_address(req: &Request, trusted: &AllowList) -> String {
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => client_address(*peer, req.headers(), trusted),
        None => "unknown".to_owned(),
    }
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
    State(auth): State<std::sync::Arc<AuthConfig>>,
    req: Request,
    next: Next,
) -> Response {
    if is_cross_site(req.method(), req.headers(), &auth) {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "refused a cross-site request");
        return refuse(req.uri().path(), AppError::Refused(ApiError::CrossSite));
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

/// Reads a request's body within `deadline` of its headers, so a client that trickles a body (a
/// byte every few seconds, each read well within any per-read timeout) holds a connection and a
/// task for at most that long: it gets 408 and the connection is closed. The body is at most
/// 64 KB (the limit layer outside this one), so holding it in memory costs nothing a handler
/// would not spend reading it. Requests without a body pass straight through.
pub async fn read_body_within(
    State(deadline): State<std::time::Duration>,
    req: Request<Body>,
    next: Next,
) -> Response {
    use axum::body::HttpBody;
    if req.body().size_hint().exact() == Some(0) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, usize::MAX)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(err)) => body_error_response(&err),
        Err(_) => {
            tracing::info!(path = %loggable_path(parts.uri.path()), "request body not received in time");
            let mut res = (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request's body did not arrive within {} s; send it again",
                    deadline.as_secs()
                ),
            )
                .into_response();
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
    }
}

/// A body that could not be read: too large (the limit layer's error) or broken off.
fn body_error_response(err: &axum::Error) -> Response {
    use std::error::Error as _;
    let too_large = err
        .source()
        .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
    if too_large {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request's body is too large",
        )
            .into_response();
    }
    (
        StatusCode::BAD_REQUEST,
        "the request's body could not be read",
    )
        .into_response()
}

/// Turns a panic anywhere under it (a handler, a page being rendered, an inner middleware) into
/// a 500 the client can act on, and one log line, instead of a connection dropped with no reply.
/// Server functions get their typed error (`"Internal"`); pages get a short HTML page.
pub async fn catch_panics(req: Request<Body>, next: Next) -> Response {
    use futures::FutureExt;
    use std::panic::AssertUnwindSafe;

    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(res) => res,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(%method, %path, panic = message, "request failed: affdesk panicked");
            internal_error_response(&path)
        }
    }
}

/// What a panic said, for the log: `panic!` carries a `&str` or a `String`.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

/// The 500 for a request that failed inside affdesk. It cannot know whether a form's change
/// was stored before the failure, so it says to look before submitting again.
pub fn internal_error_response(path: &str) -> Response {
    if is_server_fn(path) {
        // The panic is logged by the caller; this only answers.
        return server_fn_error_response(StatusCode::INTERNAL_SERVER_ERROR, &ApiError::Internal);
    }
    let page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <title>Internal error · affdesk</title></head><body><h1>Internal error</h1>\
        <p>affdesk could not finish this request. The error has been written to the server log.</p>\
        <p>Reload the page to try again. If you were submitting a form, open the page again and \
        check whether your change was saved before submitting it a second time.</p>\
        <p><a href=\"/\">Back to the overview</a></p></body></html>";
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies_and_across_header_lines() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        headers.append("x-forwarded-for", "1.1.1.1, 203.0.113.7".parse().unwrap());
        let nobody = AllowList::default();
        let proxy = AllowList::parse("10.0.0.1").unwrap();
        assert_eq!(client_address(peer, &headers, &nobody), "10.0.0.1");
        assert_eq!(client_address(peer, &headers, &proxy), "203.0.113.7");
        assert_eq!(client_address(peer, &HeaderMap::new(), &proxy), "10.0.0.1");
    }

    /// A router whose every route panics, behind the same middleware affdesk installs.
    async fn answer_of_a_panicking_route(path: &str) -> (StatusCode, String, String) {
        use axum::middleware::from_fn;
        use tower::ServiceExt;

        async fn panics() -> &'static str {
            panic!("a deliberate failure")
        }
        async fn panics_with_a_string() -> &'static str {
            panic!("{}", String::from("a formatted failure"))
        }
        let app = axum::Router::new()
            .route("/api/broken", axum::routing::post(panics))
            .route("/settings/broken", axum::routing::get(panics_with_a_string))
            .layer(from_fn(catch_panics));
        let method = if path.starts_with("/api/") {
            "POST"
        } else {
            "GET"
        };
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.expect("the router answers");
        let status = res.status();
        let content_type = res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_panicking_server_function_answers_the_typed_internal_error() {
        let (status, content_type, body) = answer_of_a_panicking_route("/api/broken").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(content_type, "application/json");
        assert_eq!(body, "\"Internal\"");
    }

    #[tokio::test]
    async fn a_panicking_page_answers_a_page_that_says_what_to_do() {
        let (status, content_type, body) = answer_of_a_panicking_route("/settings/broken").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert!(body.contains("could not finish this request"), "{body}");
        assert!(
            body.contains("check whether your change was saved"),
            "{body}"
        );
        assert!(
            !body.contains("formatted failure"),
            "the panic stays in the log: {body}"
        );
    }

    #[test]
    fn the_logged_panic_message_comes_from_either_kind_of_payload() {
        let literal: Box<dyn std::any::Any + Send> = Box::new("literal");
        let formatted: Box<dyn std::any::Any + Send> = Box::new(String::from("formatted 7"));
        let other: Box<dyn std::any::Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(literal.as_ref()), "literal");
        assert_eq!(panic_message(formatted.as_ref()), "formatted 7");
        assert_eq!(panic_message(other.as_ref()), "(a panic without a message)");
    }

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
    fn the_signup_complete_token_stays_out_of_logged_paths() {
        assert_eq!(
            loggable_path("/signup/complete/0123456789abcdef0123456789abcdef"),
            "/signup/complete/…"
        );
        assert_eq!(loggable_path("/settings/affiliate"), "/settings/affiliate");
    }

    #[test]
    fn public_paths_are_few_and_named() {
        assert!(is_public("/login"));
        assert!(is_public("/pkg/affdesk.wasm"));
        assert!(is_public("/assets/0123456789abcdef/pkg/affdesk.wasm"));
        assert!(!is_public("/"));
        assert!(!is_public("/login/../settings"));
        assert!(!is_public("/api/whoami"));
    }
}
