//! `POST /api/v1/signups`, the endpoint a signup flow reports completed signups to, and
//! `GET /signup/complete/<token>`, the public thank-you page carrying a signup's pixels.

use crate::domain::call::{escape_html, pixel_html};
use crate::domain::eligibility::decide;
use crate::domain::signup::{canonical, parse_intake, IntakeError};
use crate::server::api_tokens;
use crate::server::signups::{self, Prepared, RecordOutcome};
use crate::server::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sha2::{Digest, Sha256};

fn problem(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": error, "message": message.into() })),
    )
        .into_response()
}

fn internal(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "signup intake failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "affdesk could not store the signup; send it again (a repeat with the same body is safe)",
    )
}

/// The scheme and host the complete page is reached at, for the answer's `complete_url`.
fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(origin) = &state.auth.public_origin {
        return origin.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

pub async fn post_signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let now = state.clock.now();
    let Some(presented) = presented else {
        return problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the header Authorization: Bearer <token>; create a token under Settings → API tokens or with `affdesk token create --name NAME`",
        );
    };
    match api_tokens::authenticate(&state.db, presented, now).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return problem(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this API token is not valid (revoked or mistyped)",
            )
        }
        Err(err) => return internal(err),
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the signup as JSON with Content-Type: application/json",
        );
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return invalid(vec![IntakeError {
                field: String::new(),
                message: format!("the body is not valid JSON: {e}"),
            }])
        }
    };
    let intake = match parse_intake(&value, &state.default_currency, now) {
        Ok(i) => i,
        Err(errors) => return invalid(errors),
    };
    let config = match state.affiliate_settings.current(&state.db).await {
        Ok(config) => config,
        Err(err) => return internal(err),
    };
    let decision = decide(intake.payment_method, intake.moderated, intake.trial);
    let hash: String = Sha256::digest(canonical(&value).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let base = public_base(&state, &headers);
    let signup = match Prepared::new(&intake, &hash, &config, &decision, now, &base) {
        Ok(signup) => signup,
        Err(err) => return internal(err),
    };
    match state.signups.record(signup).await {
        Ok(RecordOutcome::Created(answer)) => {
            tracing::info!(order_id = %answer.order_id, eligible = answer.eligible, deliveries = answer.deliveries.len(), "signup recorded");
            if !answer.deliveries.is_empty() {
                state.deliveries.wake();
            }
            (StatusCode::CREATED, Json(answer)).into_response()
        }
        Ok(RecordOutcome::Repeat(answer)) => (StatusCode::OK, Json(answer)).into_response(),
        Ok(RecordOutcome::Conflict) => problem(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "order_id {:?} was already reported with different values; an order is recorded once",
                intake.order_id
            ),
        ),
        Err(err) => internal(err),
    }
}

fn invalid(errors: Vec<IntakeError>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": "invalid", "message": "the signup has invalid fields", "errors": errors })),
    )
        .into_response()
}

/// The signup-complete page: a thank-you with the signup's pixel images, as H-Sphere's signup
/// end page had, so the affiliate trackers can read their own cookies in the customer's browser.
pub async fn complete_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let pixels = match signups::complete_page_pixels(&state.db, &token, state.clock.now()).await {
        Ok(p) => p,
        Err(err) => {
            tracing::error!(error = %err, "signup-complete page failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong; please reload.",
            )
                .into_response();
        }
    };
    let Some(pixels) = pixels else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                "Page not available",
                "<p>This confirmation page has expired or does not exist.</p>",
            )),
        )
            .into_response();
    };
    // The pixels load from the trackers' own hosts, and only from those.
    let origins: Vec<String> = pixels
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .collect();
    let csp = format!(
        "default-src 'none'; img-src {}; style-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        if origins.is_empty() { "'none'".to_owned() } else { origins.join(" ") }
    );
    let body = format!(
        "<h1>Thank you!</h1><p>Your hosting account has been created.</p>\n{}",
        pixel_html(&pixels)
    );
    let mut response = Html(page("Thank you", &body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // Trackers need the page's address? They get none: Referrer-Policy stays same-origin.
    response
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
        escape_html(title)
    )
}
