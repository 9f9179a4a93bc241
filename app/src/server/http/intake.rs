//! `POST /api/v1/signups`, the endpoint a signup flow reports completed signups to,
//! `POST /api/v1/signups/{order_id}/reversals`, where it reports refunds and chargebacks, and
//! `GET /signup/complete/<token>`, the public thank-you page carrying a signup's pixels.

use crate::domain::call::{escape_html, pixel_html};
use crate::server::state::IntakeDeps;
use crate::server::storage::intake_log::{IntakeCall, IntakeLog};
use crate::server::storage::signups::IntakeAnswer;
use crate::service::error::AppError;
use crate::service::reversals::{self, ReversalRecorded};
use crate::service::signups::{self, CallNote, IntakeRequest, Recorded};
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
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
    let mut note = CallNote::default();
    let mut response = match signups::intake(&deps, api_request(&headers, &body), &mut note).await {
        Ok(Recorded { status, answer }) => {
            note.outcome = signup_outcome(&answer);
            (status, Json(answer)).into_response()
        }
        Err(err) => {
            note.outcome = refusal_outcome(&err);
            err.problem(SEND_AGAIN)
        }
    };
    response.extensions_mut().insert(note);
    response
}

/// What the intake log says of a stored signup.
fn signup_outcome(answer: &IntakeAnswer) -> String {
    let mut outcome = format!(
        "{}: {}",
        if answer.eligible {
            "counted"
        } else {
            "not counted"
        },
        answer.reason
    );
    for skipped in &answer.skipped {
        outcome.push_str("; skipped ");
        outcome.push_str(skipped);
    }
    outcome
}

/// What the intake log says of a refused call: the message and each field's problem. A field
/// error about the email leaves the address out: the log never holds one.
fn refusal_outcome(err: &AppError) -> String {
    match err {
        AppError::Rejected {
            message, errors, ..
        } => {
            let mut outcome = message.clone();
            for e in errors {
                let text = if e.field == "email" {
                    "is not a valid email address"
                } else {
                    e.message.as_str()
                };
                let field = if e.field.is_empty() { "body" } else { &e.field };
                outcome.push_str(&format!("; {field}: {text}"));
            }
            outcome
        }
        other => format!("{} ({})", other.status(), other.code()),
    }
}

/// Logs every call to the signup API (`POST /api/v1/signups…`), refused ones too: it sits
/// outside the body limit, so a 413 is logged as well. The handlers leave a [`CallNote`] on
/// their answer; an answer without one (a 413) is logged from its status.
pub async fn log_calls(State(log): State<IntakeLog>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let endpoint = match (request.method(), path) {
        (&Method::POST, "/api/v1/signups") => "signup",
        (&Method::POST, p) if p.starts_with("/api/v1/signups/") => "reversal",
        _ => return next.run(request).await,
    };
    let path_order_id = path
        .strip_prefix("/api/v1/signups/")
        .and_then(|rest| rest.strip_suffix("/reversals"))
        .map(|id| {
            percent_decode(id)
                .chars()
                .take(crate::domain::signup::ORDER_ID_MAX_CHARS)
                .collect::<String>()
        });
    let started = std::time::Instant::now();
    let received_at = log.now();
    let mut response = next.run(request).await;
    let note = response
        .extensions_mut()
        .remove::<CallNote>()
        .unwrap_or_else(|| CallNote {
            order_id: path_order_id.unwrap_or_default(),
            outcome: match response.status() {
                StatusCode::PAYLOAD_TOO_LARGE => "the body is over 64 KiB".to_owned(),
                status => status.to_string(),
            },
            ..CallNote::default()
        });
    log.record(IntakeCall {
        received_at,
        endpoint,
        token_name: note.token_name,
        order_id: note.order_id,
        status: response.status().as_u16(),
        outcome: note.outcome,
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    });
    response
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `POST /api/v1/signups/{order_id}/reversals`: a refund, chargeback or cancellation.
pub async fn post_reversal(
    State(deps): State<IntakeDeps>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut note = CallNote::default();
    let mut response = match reversals::reverse(
        &deps,
        &order_id,
        api_request(&headers, &body),
        &mut note,
    )
    .await
    {
        Ok(ReversalRecorded { status, answer }) => {
            note.outcome = format!("{} {}: {}", answer.reason, answer.amount, answer.summary);
            (status, Json(answer)).into_response()
        }
        Err(err) => {
            note.outcome = refusal_outcome(&err);
            err.problem(
                    "affdesk could not store the reversal; send it again (a repeat with the same body is safe)",
                )
        }
    };
    response.extensions_mut().insert(note);
    response
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
