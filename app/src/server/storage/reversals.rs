//! Recording a reversal. One transaction reads the signup's deliveries (locked on PostgreSQL, so
//! a worker storing a call's end waits for it), decides each link's step by the pure rules in
//! `domain::reversal`, cancels what never reached its tracker, queues the reversal calls and
//! stores the answer: a 201 means nothing can be lost any more.

use crate::domain::conditions::{Fired, LinkOutcome};
use crate::domain::reversal::{plan_link, LinkPlan, LinkStep, Reversal, SignupCall};
use crate::domain::states::{DeliveryKind, DeliveryState};
use crate::domain::success::ReplyRules;
use crate::server::storage::db::{BeginWrite, Db};
use crate::server::storage::signups::{host_of, RecordError};
use crate::with_pool;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The signup a reversal names, as the reversal needs it.
#[derive(Debug, sqlx::FromRow)]
pub struct ReversedSignup {
    pub id: i64,
    pub eligible: bool,
    pub reason: String,
    /// The signup's fields as accepted (JSON of `SignupIntake`).
    pub details: String,
    /// JSON of the [`LinkOutcome`]s.
    pub link_outcomes: String,
}

pub async fn find_signup(db: &Db, order_id: &str) -> Result<Option<ReversedSignup>, sqlx::Error> {
    const SQL: &str = "SELECT id, eligible, reason, details, link_outcomes FROM signups \
        WHERE order_id = $1";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(order_id).fetch_optional(pool).await)
}

/// One link's reversal call, rendered before the transaction: its URL and reply rules.
#[derive(Debug, Clone)]
pub struct ReversalCall {
    pub url: String,
    pub rules: ReplyRules,
}

/// A reversal ready to store.
#[derive(Debug)]
pub struct NewReversal<'a> {
    pub signup: &'a ReversedSignup,
    pub order_id: &'a str,
    pub reversal: &'a Reversal,
    pub request_hash: &'a str,
    /// Each slot's reversal call, by slot (index 0 is Link 1); `None` without a reversal link.
    pub calls: Vec<Option<ReversalCall>>,
    pub now: DateTime<Utc>,
}

/// One link's step in the answer, with the reversal delivery it queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReversalLink {
    #[serde(flatten)]
    pub plan: LinkPlan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<i64>,
}

/// The 201 answer, stored so an identical repeat gets exactly the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReversalAnswer {
    pub reversal_id: String,
    pub order_id: String,
    pub reason: String,
    pub amount: String,
    pub time: String,
    /// Whether the signup counted; a reversal of one that did not fires nothing.
    pub counted: bool,
    /// What the reversal came to, in words.
    pub summary: String,
    pub links: Vec<ReversalLink>,
}

#[derive(Debug)]
pub enum ReversalOutcome {
    Created(ReversalAnswer),
    /// The same `reversal_id` with the same body: the first answer.
    Repeat(ReversalAnswer),
    /// The same `reversal_id` with a different body.
    Conflict,
}

#[derive(Debug, sqlx::FromRow)]
struct SignupDelivery {
    id: i64,
    slot: i32,
    state: String,
    lease_until: Option<DateTime<Utc>>,
}

/// What each link's signup call had come to, by slot.
fn signup_calls(
    deliveries: &[SignupDelivery],
    outcomes: &[LinkOutcome],
    now: DateTime<Utc>,
) -> Result<Vec<(SignupCall, Option<i64>)>, RecordError> {
    let mut calls = Vec::with_capacity(crate::domain::link_template::LINK_SLOTS);
    for slot in 1..=crate::domain::link_template::LINK_SLOTS as i32 {
        let call = match deliveries.iter().find(|d| d.slot == slot) {
            Some(d) => {
                let state = DeliveryState::try_from(d.state.clone())
                    .map_err(|e| RecordError::Corrupt(e.to_string()))?;
                let in_call = d.lease_until.is_some_and(|until| until > now);
                (SignupCall::Server { state, in_call }, Some(d.id))
            }
            None if outcomes
                .iter()
                .any(|o| o.link == i64::from(slot) && o.fired == Fired::Pixel) =>
            {
                (SignupCall::Pixel, None)
            }
            None => (SignupCall::None, None),
        };
        calls.push(call);
    }
    Ok(calls)
}

const EXISTING: &str =
    "SELECT request_hash, answer FROM reversals WHERE signup_id = $1 AND reversal_key = $2";
const INSERT_REVERSAL: &str = "INSERT INTO reversals (signup_id, reversal_key, reason, amount, \
    reversed_at, request_hash, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6, '', $7) \
    ON CONFLICT (signup_id, reversal_key) DO NOTHING RETURNING id";
const CANCEL: &str =
    "UPDATE deliveries SET state = 'cancelled', lease_until = NULL, last_error = $2 WHERE id = $1";
const CANCEL_AFTER_CALL: &str = "UPDATE deliveries SET cancel_requested = TRUE WHERE id = $1";
const INSERT_DELIVERY: &str = "INSERT INTO deliveries (signup_id, slot, kind, reversal_id, \
    parent_id, url, host, state, next_attempt_at, created_at, success_contains, \
    success_not_contains) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) RETURNING id";
const STORE_ANSWER: &str = "UPDATE reversals SET answer = $2 WHERE id = $1";

/// The answer an earlier reversal with this id got, or a conflict for another body.
fn earlier(
    row: Option<(String, String)>,
    hash: &str,
) -> Result<Option<ReversalOutcome>, RecordError> {
    Ok(match row {
        Some((stored, answer)) if stored == hash => {
            Some(ReversalOutcome::Repeat(serde_json::from_str(&answer)?))
        }
        Some(_) => Some(ReversalOutcome::Conflict),
        None => None,
    })
}

/// Stores the reversal and each link's step in one transaction.
pub async fn record(db: &Db, new: NewReversal<'_>) -> Result<ReversalOutcome, RecordError> {
    let signup = new.signup;
    let outcomes: Vec<LinkOutcome> = serde_json::from_str(&signup.link_outcomes)?;
    // PostgreSQL: the worker's claim skips locked rows, and its write of a call's end waits
    // until this transaction has decided.
    let select = format!(
        "SELECT id, slot, state, lease_until FROM deliveries WHERE signup_id = $1 AND kind = 'signup'{}",
        match db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE",
        }
    );
    let r = new.reversal;
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row: Option<(String, String)> = sqlx::query_as(EXISTING)
            .bind(signup.id).bind(&r.reversal_id).fetch_optional(&mut *tx).await?;
        if let Some(outcome) = earlier(row, new.request_hash)? {
            tx.rollback().await?;
            return Ok(outcome);
        }
        let id: Option<i64> = sqlx::query_scalar(INSERT_REVERSAL)
            .bind(signup.id)
            .bind(&r.reversal_id)
            .bind(r.reason.as_str())
            .bind(&r.amount)
            .bind(r.time)
            .bind(new.request_hash)
            .bind(new.now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(reversal_row) = id else {
            // Another request with this id was stored in between: answer as it was answered.
            tx.rollback().await?;
            let row = sqlx::query_as(EXISTING).bind(signup.id).bind(&r.reversal_id).fetch_optional(pool).await?;
            return Ok(earlier(row, new.request_hash)?.unwrap_or(ReversalOutcome::Conflict));
        };
        let mut links = Vec::new();
        if signup.eligible {
            let deliveries: Vec<SignupDelivery> =
                sqlx::query_as(&select).bind(signup.id).fetch_all(&mut *tx).await?;
            for (i, (call, signup_delivery)) in signup_calls(&deliveries, &outcomes, new.now)?.into_iter().enumerate() {
                let slot = i as i64 + 1;
                let reversal_call = new.calls.get(i).cloned().flatten();
                let plan = plan_link(slot, call, reversal_call.is_some());
                let (parent, state) = match (&plan.step, signup_delivery) {
                    (LinkStep::CancelSignup, Some(id)) => {
                        sqlx::query(CANCEL).bind(id).bind("cancelled: the signup was reversed before the tracker heard of it")
                            .execute(&mut *tx).await?;
                        (None, None)
                    }
                    (LinkStep::AfterCall { reverse }, Some(id)) => {
                        sqlx::query(CANCEL_AFTER_CALL).bind(id).execute(&mut *tx).await?;
                        (Some(id), reverse.then_some(DeliveryState::Held))
                    }
                    (LinkStep::QueueReversal, _) => (None, Some(DeliveryState::Pending)),
                    _ => (None, None),
                };
                let delivery_id = match (state, reversal_call) {
                    (Some(state), Some(call)) => Some(
                        sqlx::query_scalar(INSERT_DELIVERY)
                            .bind(signup.id)
                            .bind(slot)
                            .bind(DeliveryKind::Reversal.as_str())
                            .bind(reversal_row)
                            .bind(parent)
                            .bind(&call.url)
                            .bind(host_of(&call.url))
                            .bind(state.as_str())
                            .bind(new.now)
                            .bind(&call.rules.contains)
                            .bind(&call.rules.not_contains)
                            .fetch_one(&mut *tx)
                            .await?,
                    ),
                    _ => None,
                };
                links.push(ReversalLink { plan, delivery_id });
            }
        }
        let answer = answer(&new, links);
        sqlx::query(STORE_ANSWER)
            .bind(reversal_row)
            .bind(serde_json::to_string(&answer)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ReversalOutcome::Created(answer))
    })
}

fn answer(new: &NewReversal<'_>, links: Vec<ReversalLink>) -> ReversalAnswer {
    let r = new.reversal;
    let summary = if !new.signup.eligible {
        format!(
            "the signup did not count ({}), so no link fired and nothing is sent",
            new.signup.reason
        )
    } else {
        let queued = links.iter().filter(|l| l.delivery_id.is_some()).count();
        let cancelled = links
            .iter()
            .filter(|l| l.plan.step == LinkStep::CancelSignup)
            .count();
        let untold = links
            .iter()
            .filter(|l| l.plan.step == LinkStep::Nothing { told: false })
            .count();
        format!("{queued} reversal call(s) queued, {cancelled} signup call(s) cancelled, {untold} tracker(s) not told (no reversal link)")
    };
    ReversalAnswer {
        reversal_id: r.reversal_id.clone(),
        order_id: new.order_id.to_owned(),
        reason: r.reason.as_str().to_owned(),
        amount: r.amount.clone(),
        time: r.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        counted: new.signup.eligible,
        summary,
        links,
    }
}

/// A stored reversal, for the signup's page.
#[derive(Debug, sqlx::FromRow)]
pub struct ReversalRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub answer: String,
}

/// The reversals of a signup, oldest first.
pub async fn of_signup(db: &Db, signup_id: i64) -> Result<Vec<ReversalRow>, sqlx::Error> {
    const SQL: &str =
        "SELECT id, created_at, answer FROM reversals WHERE signup_id = $1 ORDER BY id";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(signup_id).fetch_all(pool).await)
}
