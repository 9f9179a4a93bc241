//! `POST /api/v1/signups/{order_id}/reversals`: a refund, chargeback or cancellation of a
//! reported signup. Each link whose tracker heard of the signup gets its reversal call; a signup
//! call that never reached its tracker is cancelled instead.

use super::error::AppError;
use super::signups::{
    authenticate, invalid_fields, rejected, request_hash, CallNote, IntakeRequest,
};
use crate::domain::affiliate::AffiliateConfig;
use crate::domain::affiliate::DeliveryMode;
use crate::domain::conditions::{Fired, LinkOutcome};
use crate::domain::eligibility::decide;
use crate::domain::reversal::{parse_reversal, settle_amount, Reversal, ReversalReason};
use crate::domain::signup::{SignupIntake, ORDER_ID_MAX_CHARS};
use crate::server::state::IntakeDeps;
use crate::server::storage::reversals::{
    self, NewReversal, ReversalAnswer, ReversalCall, ReversalOutcome, ReversedSignup,
};
use axum::http::StatusCode;

/// What a stored reversal answers: 201 the first time, 200 with the same answer for a repeat.
#[derive(Debug)]
pub struct ReversalRecorded {
    pub status: StatusCode,
    pub answer: ReversalAnswer,
}

/// Checks the token and the body, finds the signup, and stores the reversal with each link's
/// step; an identical repeat gets the first answer, a different body for the same
/// `reversal_id` a 409.
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn reverse(
    deps: &IntakeDeps,
    order_id: &str,
    request: IntakeRequest<'_>,
    note: &mut CallNote,
) -> Result<ReversalRecorded, AppError> {
    let now = deps.clock.now();
    note.order_id = order_id.chars().take(ORDER_ID_MAX_CHARS).collect();
    note.token_name = Some(authenticate(deps, request.token, now).await?);
    let value = request.json("reversal")?;
    let Some(signup) = reversals::find_signup(&deps.db, order_id).await? else {
        return Err(rejected(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no signup with order_id {order_id:?} was reported; report it to POST /api/v1/signups first"
            ),
        ));
    };
    let intake: SignupIntake = serde_json::from_str(&signup.details)?;
    let parsed = parse_reversal(&value, order_id, &intake.amount, now).map_err(invalid_fields)?;
    let explicit = value.get("amount").is_some_and(|a| !a.is_null());
    let config = deps.settings.current(&deps.db).await?;
    let signup = with_pixel_fallback(signup, &config);
    let hash = request_hash(&value);
    // The amount is settled against what earlier reversals took back, and the transaction
    // checks that nothing changed meanwhile; a reversal stored in between (a second partial
    // refund at the same moment) means settling again, against the new total.
    for _ in 0..SETTLE_TRIES {
        let mut reversal = parsed.clone();
        let earlier = reversals::earlier_cents(&deps.db, signup.id, &reversal.reversal_id).await?;
        settle_amount(&mut reversal, explicit, &intake.amount, earlier)
            .map_err(|e| invalid_fields(vec![e]))?;
        let new = NewReversal {
            signup: &signup,
            order_id,
            reversal: &reversal,
            request_hash: &hash,
            calls: reversal_calls(&config, &intake, &reversal),
            now,
            earlier_cents: earlier,
        };
        match reversals::record(&deps.db, new).await? {
            ReversalOutcome::Stale => continue,
            outcome => return answered(deps, outcome, &reversal.reversal_id),
        }
    }
    Err(AppError::unavailable(
        "reversal",
        "other reversals of this signup kept arriving while this one was stored",
    ))
}

/// How many times a reversal settles its amount again when others of the same signup land
/// first.
const SETTLE_TRIES: usize = 5;

/// A signup stored before affdesk kept what each link did has its pixels but not their links:
/// the links that fire as pixels now stand in for them, so their trackers hear of the reversal.
fn with_pixel_fallback(mut signup: ReversedSignup, config: &AffiliateConfig) -> ReversedSignup {
    if signup.link_outcomes.trim() != "[]" || signup.pixel_urls.trim() == "[]" {
        return signup;
    }
    let pixels: Vec<LinkOutcome> = config
        .slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.fires().is_some() && slot.mode == DeliveryMode::BrowserPixel)
        .map(|(i, _)| LinkOutcome {
            link: i as i64 + 1,
            fired: Fired::Pixel,
            detail: String::new(),
        })
        .collect();
    if let Ok(json) = serde_json::to_string(&pixels) {
        signup.link_outcomes = json;
    }
    signup
}

/// Each link's reversal call for this signup and reversal, rendered now; `None` for a link
/// without a reversal link.
fn reversal_calls(
    config: &AffiliateConfig,
    intake: &SignupIntake,
    reversal: &Reversal,
) -> Vec<Option<ReversalCall>> {
    let signup_type = decide(intake.payment_method, intake.moderated, intake.trial).signup_type;
    let mut values = intake.values(signup_type);
    values.reversal = reversal.values();
    config
        .slots
        .iter()
        .map(|slot| {
            slot.reversal.as_ref().map(|link| ReversalCall {
                url: link.render(&values),
                rules: slot.rules.clone(),
            })
        })
        .collect()
}

/// The answer to a stored (or repeated, or conflicting) reversal.
fn answered(
    deps: &IntakeDeps,
    outcome: ReversalOutcome,
    reversal_id: &str,
) -> Result<ReversalRecorded, AppError> {
    match outcome {
        ReversalOutcome::Created(answer) => {
            let queued = answer.links.iter().filter(|l| l.delivery_id.is_some()).count();
            tracing::info!(
                reversal_id = %answer.reversal_id,
                reason = %answer.reason,
                queued,
                "reversal recorded"
            );
            if let Some(reason) = ReversalReason::parse(&answer.reason) {
                crate::server::metrics::reversal(reason.as_str());
            }
            if queued > 0 {
                deps.deliveries.wake();
            }
            Ok(ReversalRecorded {
                status: StatusCode::CREATED,
                answer,
            })
        }
        ReversalOutcome::Repeat(answer) => Ok(ReversalRecorded {
            status: StatusCode::OK,
            answer,
        }),
        ReversalOutcome::Stale => Err(AppError::unavailable(
            "reversal",
            "another reversal of this signup was stored at the same moment",
        )),
        ReversalOutcome::Conflict => Err(rejected(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "reversal_id {reversal_id:?} was already reported for this order with different values; a reversal is recorded once"
            ),
        )),
    }
}
