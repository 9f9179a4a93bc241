//! `POST /api/v1/signups`, the endpoint a signup flow reports completed signups to,
//! `POST /api/v1/signups/{order_id}/reversals`, where it reports refunds and chargebacks, and
//! `GET /signup/complete/<token>`, the public thank-you page carrying a signup's pixels.

use crate::domain::call::{escape_html, pixel_html};
use crate::server::state::IntakeDeps;
use crate::service::reversals::{self, ReversalRecorded};
use crate::service::signups::{self, IntakeRequest, Recorded};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

/// What an internal failure tells the billing system: a repeat is safe.
const SEND_AGAIN: &str =
    "affdesk could not store the signup; send it again (a repeat with the same body is safe)";

/// The scheme and host this request reached affdesk at, for the answer's `complete_url` when no
/// public origin is configured.
fn request_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// What the API's calls share: the bearer token, the content type and the body.
fn api_request<'a>(headers: &'a HeaderMap, body: &'a Bytes) -> IntakeRequest<'a> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    IntakeRequest {
        token: header(header::AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim),
        is_json: header(header::CONTENT_TYPE)
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json")),
        body,
        request_base: request_base(headers),
    }
}

pub async fn post_signup(
    State(deps): State<IntakeDeps>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match signups::intake(&deps, api_request(&headers, &body)).await {
        Ok(Recorded { status, answer }) => (status, Json(answer)).into_response(),
        Err(err) => err.problem(SEND_AGAIN),
    }
}

/// `POST /api/v1/signups/{order_id}/reversals`: a refund, chargeback or cancellation.
pub async fn post_reversal(
    State(deps): State<IntakeDeps>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match reversals::reverse(&deps, &order_id, api_request(&headers, &body)).await {
        Ok(ReversalRecorded { status, answer }) => (status, Json(answer)).into_response(),
        Err(err) => err.problem(
            "affdesk could not store the reversal; send it again (a repeat with the same body is safe)",
        ),
    }
}

/// The signup-complete page: a thank-you with the signup's pixel images, as H-Sphere's signup
/// end page had, so the affiliate trackers can read their own cookies in the customer's browser.
pub async fn complete_page(State(deps): State<IntakeDeps>, Path(token): Path<String>) -> Response {
    let pixels = match signups::complete_page_pixels(&deps, &token).await {
        Ok(p) => p,
        Err(err) => {
            err.log();
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
