//! `POST /api/v1/signups/{order_id}/reversals`: a refund, chargeback or cancellation of a
//! reported signup. Each link whose tracker heard of the signup gets its reversal call; a signup
//! call that never reached its tracker is cancelled instead.

use super::error::AppError;
use super::signups::{
    authenticate, invalid_fields, rejected, request_hash, CallNote, IntakeRequest,
};
use crate::domain::eligibility::decide;
use crate::domain::reversal::parse_reversal;
use crate::domain::signup::{SignupIntake, ORDER_ID_MAX_CHARS};
use crate::model::error::FieldError;
use crate::server::state::IntakeDeps;
use crate::server::storage::reversals::{
    self, NewReversal, ReversalAnswer, ReversalCall, ReversalOutcome,
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
    if !request.is_json {
        return Err(rejected(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the reversal as JSON with Content-Type: application/json",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(request.body).map_err(|e| {
        invalid_fields(vec![FieldError::new(
            "",
            format!("the body is not valid JSON: {e}"),
        )])
    })?;
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
    let reversal = parse_reversal(&value, order_id, &intake.amount, now).map_err(invalid_fields)?;
    let config = deps.settings.current(&deps.db).await?;
    let mut values =
        intake.values(decide(intake.payment_method, intake.moderated, intake.trial).signup_type);
    values.reversal = reversal.values();
    let calls = config
        .slots
        .iter()
        .map(|slot| {
            slot.reversal.as_ref().map(|link| ReversalCall {
                url: link.render(&values),
                rules: slot.rules.clone(),
            })
        })
        .collect();
    let hash = request_hash(&value);
    let new = NewReversal {
        signup: &signup,
        order_id,
        reversal: &reversal,
        request_hash: &hash,
        calls,
        now,
    };
    match reversals::record(&deps.db, new).await? {
        ReversalOutcome::Created(answer) => {
            let queued = answer.links.iter().filter(|l| l.delivery_id.is_some()).count();
            tracing::info!(
                reversal_id = %answer.reversal_id,
                reason = %answer.reason,
                queued,
                "reversal recorded"
            );
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
        ReversalOutcome::Conflict => Err(rejected(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "reversal_id {:?} was already reported for this order with different values; a reversal is recorded once",
                reversal.reversal_id
            ),
        )),
    }
}
