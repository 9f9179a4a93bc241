//! Signups: taking in a reported signup, listing and showing them with their deliveries,
//! retrying a delivery by hand, each link's health, and the signup-complete page's pixels.

use super::error::AppError;
use crate::domain::conditions::{Fired, LinkOutcome};
use crate::domain::eligibility::decide;
use crate::domain::signup::{canonical, parse_intake, SignupIntake, ORDER_ID_MAX_CHARS};
use crate::domain::states::{AuditKind, DeliveryId, SignupId};
use crate::model::affiliate::format_time;
use crate::model::error::FieldError;
use crate::model::signups::{
    AttemptView, DeliveryView, LinkHealthView, ReversalView, SignupList, SignupListItem, SignupView,
};
use crate::server::state::{IntakeDeps, SignupDeps};
use crate::server::storage::api_tokens;
use crate::server::storage::audit_log::Actor;
use crate::server::storage::reversals::{self, ReversalAnswer, ReversalRow};
use crate::server::storage::signup_queries::{self, AttemptRecord, DeliveryRecord};
use crate::server::storage::signup_queries::{
    Filter, LinkHealthRow, SignupRow, DELIVERY_FILTERS, PAGE_SIZE,
};
use crate::server::storage::signups::{self, IntakeAnswer, Prepared, RecordOutcome};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The Signups list's filters as the page sends them: unknown values mean "any".
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub eligible: String,
    pub delivery: String,
    pub q: String,
    pub page: i64,
}

#[tracing::instrument(skip_all, fields(page = query.page))]
pub async fn list(deps: &SignupDeps, query: ListQuery) -> Result<SignupList, AppError> {
    let filter = Filter {
        eligible: match query.eligible.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        delivery: DELIVERY_FILTERS
            .into_iter()
            .find(|f| *f == query.delivery)
            .unwrap_or_default(),
        search: query.q.chars().take(128).collect(),
        page: query.page.max(1),
    };
    let (rows, total) = signup_queries::list(&deps.db, &filter).await?;
    Ok(SignupList {
        items: rows.into_iter().map(list_item).collect(),
        total,
        page: filter.page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    })
}

fn list_item(r: SignupRow) -> SignupListItem {
    SignupListItem {
        id: r.id,
        order_id: r.order_id,
        account_id: r.account_id,
        user_name: r.user_name,
        payment_method: r.payment_method,
        eligible: r.eligible,
        reason: r.reason,
        created_at: format_time(r.created_at),
        delivered: r.delivered,
        pending: r.pending,
        failing: r.failing,
        exhausted: r.exhausted,
        reversals: r.reversals,
    }
}

/// One signup with what it reported, its deliveries and every attempt; `None` when unknown.
#[tracing::instrument(skip_all, fields(signup_id = %id))]
pub async fn detail(deps: &SignupDeps, id: SignupId) -> Result<Option<SignupView>, AppError> {
    let Some((signup, deliveries, attempts)) = signup_queries::signup(&deps.db, id.get()).await?
    else {
        return Ok(None);
    };
    let intake: SignupIntake = serde_json::from_str(&signup.details)?;
    let outcomes: Vec<LinkOutcome> = serde_json::from_str(&signup.link_outcomes)?;
    let reversals = reversals::of_signup(&deps.db, signup.id)
        .await?
        .into_iter()
        .map(reversal_view)
        .collect::<Result<_, serde_json::Error>>()?;
    Ok(Some(SignupView {
        id: signup.id,
        eligible: signup.eligible,
        reason: signup.reason,
        created_at: format_time(signup.created_at),
        fields: reported_fields(intake),
        deliveries: deliveries
            .into_iter()
            .map(|d| delivery_view(d, &attempts))
            .collect(),
        pixels: serde_json::from_str(&signup.pixel_urls)?,
        skipped: outcomes
            .into_iter()
            .filter(|o| o.fired == Fired::Skipped)
            .map(|o| o.detail)
            .collect(),
        reversals,
    }))
}

fn reversal_view(row: ReversalRow) -> Result<ReversalView, serde_json::Error> {
    let answer: ReversalAnswer = serde_json::from_str(&row.answer)?;
    Ok(ReversalView {
        reversal_id: answer.reversal_id,
        reason: answer.reason,
        amount: answer.amount,
        time: answer.time,
        received: format_time(row.created_at),
        summary: answer.summary,
        links: answer
            .links
            .into_iter()
            .map(|l| (l.plan.link, l.plan.detail))
            .collect(),
    })
}

/// What the signup reported, labelled for the page.
fn reported_fields(intake: SignupIntake) -> Vec<(String, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    [
        ("Order ID", intake.order_id),
        ("Account ID", intake.account_id),
        ("User name", intake.user_name),
        ("Domain", intake.domain),
        ("Plan ID", intake.plan_id),
        ("Plan name", intake.plan_name),
        ("Amount", intake.amount),
        ("Full amount", intake.full_amount),
        ("Currency", intake.currency),
        ("Payment method", intake.payment_method.label().to_owned()),
        ("Moderated", yes_no(intake.moderated)),
        ("Trial", yes_no(intake.trial)),
        ("Click ID", intake.click_id),
        ("Email", intake.email),
        ("Signup time", format_time(intake.signup_time)),
    ]
    .into_iter()
    .map(|(label, value)| (label.to_owned(), value))
    .collect()
}

fn delivery_view(d: DeliveryRecord, attempts: &[AttemptRecord]) -> DeliveryView {
    DeliveryView {
        id: d.id,
        link: d.slot,
        kind: d.kind.as_str().to_owned(),
        url: d.url,
        state: d.state.as_str().to_owned(),
        tries: d.tries,
        next_attempt_at: format_time(d.next_attempt_at),
        last_error: d.last_error,
        delivered_at: d.delivered_at.map(format_time),
        attempts: attempts
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .map(|a| AttemptView {
                started_at: format_time(a.started_at),
                duration_ms: a.duration_ms,
                status: a.status_code,
                body_excerpt: a.body_excerpt.clone(),
                error: a.error_message.clone().or_else(|| a.error_kind.clone()),
            })
            .collect(),
    }
}

/// "Retry now": the delivery is tried at once, outside its schedule.
#[tracing::instrument(skip_all, fields(admin = %actor.name, delivery_id = %delivery))]
pub async fn retry(deps: &SignupDeps, actor: &Actor, delivery: DeliveryId) -> Result<(), AppError> {
    let audit = actor.event(
        AuditKind::DeliveryRetried,
        format!("delivery {delivery} retried by hand"),
        deps.clock.now(),
    );
    if !signup_queries::retry_now(&deps.db, delivery.get(), &audit).await? {
        return Err(AppError::invalid(
            "delivery",
            "only a failing, failed or exhausted delivery can be retried, and not the signup call of a reversed signup",
        ));
    }
    tracing::info!(admin = %actor.name, delivery_id = %delivery, "delivery retried by hand");
    deps.deliveries.wake();
    Ok(())
}

pub fn health_views(rows: Vec<LinkHealthRow>, now: DateTime<Utc>) -> Vec<LinkHealthView> {
    rows.into_iter()
        .map(|r| LinkHealthView {
            link: r.slot,
            delivered: r.delivered,
            failed_tries: r.failed_tries,
            given_up: r.given_up,
            warning: crate::domain::link_health::warns(r.failing_since, now),
        })
        .collect()
}

/// Each link's deliveries over the last 24 hours.
#[tracing::instrument(skip_all)]
pub async fn link_health(deps: &SignupDeps) -> Result<Vec<LinkHealthView>, AppError> {
    let now = deps.clock.now();
    let rows = signup_queries::link_health(&deps.db, now).await?;
    Ok(health_views(rows, now))
}

/// What a stored signup answers: 201 the first time, 200 with the same answer for a repeat.
#[derive(Debug)]
pub struct Recorded {
    pub status: StatusCode,
    pub answer: IntakeAnswer,
}

/// A signup as the billing system reported it to `POST /api/v1/signups`.
pub struct IntakeRequest<'a> {
    /// The bearer token, when the call carried one.
    pub token: Option<&'a str>,
    /// Whether the body was declared `application/json`.
    pub is_json: bool,
    pub body: &'a [u8],
    /// The scheme and host the complete page is reached at, when no public origin is set.
    pub request_base: String,
}

impl IntakeRequest<'_> {
    /// The body as JSON: a 415 for another content type, a 422 for JSON that does not parse.
    /// `what` names what the body should hold ("signup", "reversal").
    pub(super) fn json(&self, what: &str) -> Result<serde_json::Value, AppError> {
        if !self.is_json {
            return Err(rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("send the {what} as JSON with Content-Type: application/json"),
            ));
        }
        serde_json::from_slice(self.body).map_err(|e| {
            invalid_fields(vec![FieldError::new(
                "",
                format!("the body is not valid JSON: {e}"),
            )])
        })
    }
}

/// What the intake log says of a call besides its status: whose token it carried and which
/// order it named, filled in as the call is read.
#[derive(Debug, Clone, Default)]
pub struct CallNote {
    pub token_name: Option<String>,
    pub order_id: String,
    pub outcome: String,
}

impl CallNote {
    /// The order id a body names, as far as it names one (for the log, even when refused).
    pub fn read_order_id(&mut self, body: &serde_json::Value) {
        if let Some(order_id) = body.get("order_id").and_then(|v| v.as_str()) {
            self.order_id = order_id.chars().take(ORDER_ID_MAX_CHARS).collect();
        }
    }
}

/// Checks the token and the body, decides what fires, and stores the signup with its
/// deliveries; an identical repeat gets the first answer, a different body for the same order
/// a 409.
#[tracing::instrument(skip_all, fields(order_id = tracing::field::Empty))]
pub async fn intake(
    deps: &IntakeDeps,
    request: IntakeRequest<'_>,
    note: &mut CallNote,
) -> Result<Recorded, AppError> {
    let now = deps.clock.now();
    note.token_name = Some(authenticate(deps, request.token, now).await?);
    let value = request.json("signup")?;
    note.read_order_id(&value);
    let intake = parse_intake(&value, &deps.default_currency, now).map_err(invalid_fields)?;
    tracing::Span::current().record("order_id", intake.order_id.as_str());
    let config = deps.settings.current(&deps.db).await?;
    let decision = decide(intake.payment_method, intake.moderated, intake.trial);
    let hash = request_hash(&value);
    let base = deps.public_origin.clone().unwrap_or(request.request_base);
    let signup = Prepared::new(&intake, &hash, &config, &decision, now, &base)?;
    match deps.writer.record(signup).await? {
        RecordOutcome::Created(answer) => {
            tracing::info!(
                order_id = %answer.order_id,
                eligible = answer.eligible,
                deliveries = answer.deliveries.len(),
                "signup recorded"
            );
            crate::server::metrics::signup(answer.eligible);
            if !answer.deliveries.is_empty() {
                deps.deliveries.wake();
            }
            Ok(Recorded {
                status: StatusCode::CREATED,
                answer,
            })
        }
        RecordOutcome::Repeat(answer) => Ok(Recorded {
            status: StatusCode::OK,
            answer,
        }),
        RecordOutcome::Conflict => Err(rejected(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "order_id {:?} was already reported with different values; an order is recorded once",
                intake.order_id
            ),
        )),
    }
}

/// The SHA-256 of a request body's canonical form: an identical repeat has the same hash.
pub(super) fn request_hash(value: &serde_json::Value) -> String {
    Sha256::digest(canonical(value).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The name of the API token the call carried, or a 401 that says what to send.
pub(super) async fn authenticate(
    deps: &IntakeDeps,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let Some(token) = token else {
        return Err(rejected(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the header Authorization: Bearer <token>; create a token under Settings → API tokens or with `affdesk token create --name NAME`",
        ));
    };
    match api_tokens::authenticate(&deps.db, token, now).await? {
        Some(name) => Ok(name),
        None => Err(rejected(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this API token is not valid (revoked or mistyped)",
        )),
    }
}

pub(super) fn rejected(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> AppError {
    AppError::Rejected {
        status,
        code,
        message: message.into(),
        errors: Vec::new(),
    }
}

pub(super) fn invalid_fields(errors: Vec<FieldError>) -> AppError {
    AppError::Rejected {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid",
        message: "the signup has invalid fields".to_owned(),
        errors,
    }
}

/// The pixel URLs of the signup-complete page with this token; `None` once it has expired.
#[tracing::instrument(skip_all)]
pub async fn complete_page_pixels(
    deps: &IntakeDeps,
    token: &str,
) -> Result<Option<Vec<String>>, AppError> {
    Ok(signups::complete_page_pixels(&deps.db, token, deps.clock.now()).await?)
}
