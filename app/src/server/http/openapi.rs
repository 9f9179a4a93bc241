//! The OpenAPI 3.1 description of `/api/v1`, generated from the types the API answers with
//! (and, for the request bodies, which the intake reads field by field, from types whose field
//! lists a test holds equal to the parsers'). Served at `/api/v1/openapi.json`, printed by
//! `affdesk openapi`, committed as `integrations/openapi.json`.

use crate::domain::eligibility::PaymentMethod;
use crate::domain::field_error::FieldError;
use crate::domain::reversal::{LinkPlan, LinkStep, ReversalReason};
use crate::server::storage::reversals::{ReversalAnswer, ReversalLink};
use crate::server::storage::signups::{IntakeAnswer, QueuedDelivery};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// A signup, as `POST /api/v1/signups` reads it. Unknown fields are refused.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct SignupRequest {
    /// The order's unique id, 1-128 characters: a repeat with the same body gets the first
    /// answer, another body a 409.
    #[schema(example = "A-1001")]
    order_id: String,
    payment_method: PaymentMethod,
    /// Before tax: a decimal string >= 0 with at most two decimals.
    #[schema(example = "19.95", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    amount: Option<String>,
    /// With tax, as `amount`.
    #[schema(example = "23.74", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    full_amount: Option<String>,
    /// ISO 4217; `AFFDESK_DEFAULT_CURRENCY` when absent.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    /// A moderated signup never counts (H-Sphere's rule). Default false.
    moderated: Option<bool>,
    /// Default false.
    trial: Option<bool>,
    /// RFC 3339, from 1970 to 9999; now when absent.
    #[schema(example = "2026-11-22T10:15:00Z")]
    signup_time: Option<String>,
    account_id: Option<String>,
    user_name: Option<String>,
    domain: Option<String>,
    plan_id: Option<String>,
    plan_name: Option<String>,
    /// The referral id captured from the affiliate's link.
    click_id: Option<String>,
    /// Personal data: send it only where links need it.
    email: Option<String>,
}

/// A refund, chargeback or cancellation, as `POST /api/v1/signups/{order_id}/reversals` reads
/// it. Unknown fields are refused.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ReversalRequest {
    reason: ReversalReason,
    /// What is taken back (a partial refund), at most the signup's amount; the signup's amount
    /// when absent.
    #[schema(example = "9.95", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    amount: Option<String>,
    /// Your id for this reversal, 1-128 characters: a repeat with the same body gets the first
    /// answer, another body a 409. `{order_id}-{reason}` when absent.
    reversal_id: Option<String>,
    /// RFC 3339; now when absent.
    time: Option<String>,
}

/// An error answer (RFC 9457 `application/problem+json`), with the fields older clients read.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct Problem {
    #[schema(example = "about:blank")]
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    /// A code: `invalid`, `conflict`, `unauthorized`, `not_found`, `unsupported_media_type`,
    /// `internal`, …
    error: String,
    /// The same text as `detail`.
    message: String,
    /// For a 422: every invalid field.
    errors: Option<Vec<FieldError>>,
}

/// Reports a completed signup; affdesk decides whether it counts and fires the links.
#[utoipa::path(
    post,
    path = "/api/v1/signups",
    request_body = SignupRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored, with its deliveries queued", body = IntakeAnswer),
        (status = 200, description = "The same order with the same body again: the first answer", body = IntakeAnswer),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order was reported with other values", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = String, content_type = "text/plain"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each with what to send", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Not stored: send it again (a repeat is safe)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[allow(dead_code)]
fn post_signup() {}

/// Reports a refund, chargeback or cancellation of a reported signup. Each link whose tracker
/// heard of the signup gets its reversal call; a signup call that never reached its tracker is
/// cancelled instead.
#[utoipa::path(
    post,
    path = "/api/v1/signups/{order_id}/reversals",
    params(("order_id" = String, Path, description = "The order_id the signup was reported with")),
    request_body = ReversalRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored, with each link's step", body = ReversalAnswer),
        (status = 200, description = "The same reversal_id with the same body again: the first answer", body = ReversalAnswer),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No signup with this order_id was reported", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reversal_id was reported with other values", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = String, content_type = "text/plain"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each with what to send", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Not stored: send it again (a repeat is safe)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[allow(dead_code)]
fn post_reversal() {}

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "affdesk API",
        description = "Report signups and their reversals to affdesk. Create a token under Settings → API tokens (or `affdesk token create --name NAME`) and send it as `Authorization: Bearer <token>`."
    ),
    paths(post_signup, post_reversal),
    components(schemas(
        SignupRequest, ReversalRequest, Problem, FieldError, PaymentMethod, ReversalReason,
        IntakeAnswer, QueuedDelivery, ReversalAnswer, ReversalLink, LinkPlan, LinkStep
    )),
    modifiers(&BearerToken)
)]
struct ApiDoc;

/// The description as pretty-printed JSON, built once.
pub fn openapi_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        let mut json = doc.to_pretty_json().unwrap_or_default();
        json.push('\n');
        json
    });
    JSON.as_str()
}

/// `GET /api/v1/openapi.json`: public, like the API's own description should be.
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn doc() -> Value {
        serde_json::from_str(openapi_json()).unwrap()
    }

    fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
        doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema} has properties"))
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_request_schemas_name_exactly_the_fields_the_parsers_accept() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        let accepted = |fields: &[&str]| fields.iter().map(|f| (*f).to_owned()).collect();
        assert_eq!(
            properties(&doc, "SignupRequest"),
            accepted(&crate::domain::signup::FIELDS)
        );
        assert_eq!(
            properties(&doc, "ReversalRequest"),
            accepted(&crate::domain::reversal::FIELDS)
        );
        assert_eq!(
            doc["components"]["schemas"]["SignupRequest"]["required"],
            serde_json::json!(["order_id", "payment_method"])
        );
    }

    #[test]
    fn every_answer_the_api_gives_is_described() {
        let doc = doc();
        for (path, statuses) in [
            (
                "/api/v1/signups",
                ["200", "201", "401", "409", "413", "415", "422", "500"].as_slice(),
            ),
            (
                "/api/v1/signups/{order_id}/reversals",
                [
                    "200", "201", "401", "404", "409", "413", "415", "422", "500",
                ]
                .as_slice(),
            ),
        ] {
            let responses = doc["paths"][path]["post"]["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{path} is described"));
            let described: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
            assert_eq!(described, statuses.iter().copied().collect(), "{path}");
        }
        let answer = properties(&doc, "IntakeAnswer");
        for field in [
            "signup_id",
            "eligible",
            "reason",
            "deliveries",
            "pixels",
            "pixel_html",
            "complete_url",
            "skipped",
        ] {
            assert!(answer.contains(field), "IntakeAnswer.{field}");
        }
        let methods = &doc["components"]["schemas"]["PaymentMethod"]["enum"];
        assert!(methods.to_string().contains("2checkout"), "{methods}");
    }
}
