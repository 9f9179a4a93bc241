//! Recording a reversal. One transaction reads the signup's deliveries (locked on PostgreSQL, so
//! a worker storing a call's end waits for it), decides each link's step by the pure rules in
//! `domain::reversal`, cancels what never reached its tracker, queues the reversal calls and
//! stores the answer: a 201 means nothing can be lost any more.

use crate::domain::conditions::{cents, Fired, LinkOutcome};
use crate::domain::link_health::hour_of;
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
    /// JSON of the [`LinkOutcome`]s (`[]` for signups stored before they were kept).
    pub link_outcomes: String,
    /// JSON of the pixel URLs its complete page carried.
    pub pixel_urls: String,
}

pub async fn find_signup(db: &Db, order_id: &str) -> Result<Option<ReversedSignup>, sqlx::Error> {
    const SQL: &str = "SELECT id, eligible, reason, details, link_outcomes, pixel_urls \
        FROM signups WHERE order_id = $1";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(order_id).fetch_optional(pool).await)
}

const EARLIER_AMOUNTS: &str =
    "SELECT amount FROM reversals WHERE signup_id = $1 AND reversal_key <> $2";

/// What earlier reversals of the signup (other than `reversal_key`) took back, in cents.
pub async fn earlier_cents(
    db: &Db,
    signup_id: i64,
    reversal_key: &str,
) -> Result<u64, sqlx::Error> {
    let amounts: Vec<String> = with_pool!(db, pool => {
        sqlx::query_scalar(EARLIER_AMOUNTS).bind(signup_id).bind(reversal_key).fetch_all(pool).await
    })?;
    Ok(sum_cents(&amounts))
}

fn sum_cents(amounts: &[String]) -> u64 {
    amounts.iter().filter_map(|a| cents(a)).sum()
}

/// The signup's row, locked on PostgreSQL so reversals of one signup are stored one at a time
/// (SQLite's write transactions already are).
fn lock_signup_sql(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => "SELECT id FROM signups WHERE id = $1",
        // NO KEY: rows that refer to the signup (its deliveries) can still be written meanwhile.
        Db::Postgres(_) => "SELECT id FROM signups WHERE id = $1 FOR NO KEY UPDATE",
    }
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
    /// What earlier reversals took back when the amount was settled; checked again inside the
    /// transaction, so two partial refunds at once never take back more than the sale.
    pub earlier_cents: u64,
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
    /// Another reversal of the signup was stored since `earlier_cents` was read: the amount
    /// must be settled again (nothing was stored).
    Stale,
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

/// What one link's step writes: the signup delivery to cancel now, the one to cancel unless its
/// call under way is delivered, and the reversal delivery to queue (its state and the signup
/// delivery it waits for).
struct LinkWork {
    plan: LinkPlan,
    cancel: Option<i64>,
    follow: Option<i64>,
    queue: Option<Queued>,
}

/// A reversal delivery to queue: its state (pending, or held for the signup delivery named).
type Queued = (DeliveryState, Option<i64>, ReversalCall);

/// Each link's step, from what its signup call has come to and whether it has a reversal call.
fn link_work(
    deliveries: &[SignupDelivery],
    outcomes: &[LinkOutcome],
    calls: &[Option<ReversalCall>],
    now: DateTime<Utc>,
) -> Result<Vec<LinkWork>, RecordError> {
    let mut work = Vec::new();
    for (i, (call, signup_delivery)) in signup_calls(deliveries, outcomes, now)?
        .into_iter()
        .enumerate()
    {
        let reversal_call = calls.get(i).cloned().flatten();
        let plan = plan_link(i as i64 + 1, call, reversal_call.is_some());
        let (cancel, follow, state) = match (&plan.step, signup_delivery) {
            (LinkStep::CancelSignup, id) => (id, None, None),
            (LinkStep::AfterCall { reverse }, Some(id)) => {
                (None, Some(id), reverse.then_some(DeliveryState::Held))
            }
            (LinkStep::QueueReversal, _) => (None, None, Some(DeliveryState::Pending)),
            _ => (None, None, None),
        };
        let queue = state
            .zip(reversal_call)
            .map(|(state, call)| (state, follow, call));
        work.push(LinkWork {
            plan,
            cancel,
            follow,
            queue,
        });
    }
    Ok(work)
}

impl LinkWork {
    /// The statements (each with the signup delivery's id) this step runs on signup deliveries.
    fn updates(&self) -> impl Iterator<Item = (&'static str, i64)> {
        let cancel = self.cancel.map(|id| (CANCEL, id));
        let follow = self.follow.map(|id| (CANCEL_AFTER_CALL, id));
        cancel.into_iter().chain(follow)
    }
}

/// One insert of the reversal deliveries the steps queue (returning each one's id and slot);
/// `None` when no step queues one.
fn queue_reversals<'a, DB>(
    signup_id: i64,
    reversal_row: i64,
    now: DateTime<Utc>,
    work: &'a [LinkWork],
) -> Option<sqlx::QueryBuilder<'a, DB>>
where
    DB: sqlx::Database,
    DB::Arguments<'a>: Default,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let rows: Vec<(i64, &Queued)> = work
        .iter()
        .filter_map(|w| w.queue.as_ref().map(|q| (w.plan.link, q)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut insert = sqlx::QueryBuilder::new(INSERT_DELIVERIES);
    insert.push_values(rows, |mut row, (slot, (state, parent, call))| {
        row.push_bind(signup_id)
            .push_bind(slot)
            .push_bind(DeliveryKind::Reversal.as_str())
            .push_bind(reversal_row)
            .push_bind(*parent)
            .push_bind(call.url.as_str())
            .push_bind(host_of(&call.url))
            .push_bind(state.as_str())
            .push_bind(now)
            .push_bind(now)
            .push_bind(call.rules.contains.as_str())
            .push_bind(call.rules.not_contains.as_str());
    });
    insert.push(" RETURNING id, CAST(slot AS BIGINT)");
    Some(insert)
}

const EXISTING: &str =
    "SELECT request_hash, answer FROM reversals WHERE signup_id = $1 AND reversal_key = $2";
const INSERT_REVERSAL: &str = "INSERT INTO reversals (signup_id, reversal_key, reason, amount, \
    reversed_at, request_hash, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6, '', $7) \
    ON CONFLICT (signup_id, reversal_key) DO NOTHING RETURNING id";
// Why a cancelled signup delivery was never sent, as its page shows.
const CANCEL: &str = "UPDATE deliveries SET state = 'cancelled', lease_until = NULL, \
    last_error = 'cancelled: the signup was reversed before the tracker heard of it' WHERE id = $1";
const CANCEL_AFTER_CALL: &str = "UPDATE deliveries SET cancel_requested = TRUE WHERE id = $1";
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (signup_id, slot, kind, reversal_id, \
    parent_id, url, host, state, next_attempt_at, created_at, success_contains, \
    success_not_contains) ";
const STORE_ANSWER: &str = "UPDATE reversals SET answer = $2 WHERE id = $1";
// The overview page's count of reversals, by the hour they were reported.
const COUNT_REVERSED: &str = "INSERT INTO signup_hours (hour, reversed) VALUES ($1, 1) \
    ON CONFLICT (hour) DO UPDATE SET reversed = signup_hours.reversed + 1";

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

/// The signup's own deliveries. On PostgreSQL they are locked: the worker's claim skips locked
/// rows, and its write of a call's end waits until the reversal's transaction has decided.
fn signup_deliveries_sql(db: &Db) -> &'static str {
    const SQL: &str = "SELECT id, slot, state, lease_until FROM deliveries \
        WHERE signup_id = $1 AND kind = 'signup' ORDER BY id";
    // Locked in id order, so two transactions locking the same rows wait rather than deadlock.
    const LOCKED: &str = "SELECT id, slot, state, lease_until FROM deliveries \
        WHERE signup_id = $1 AND kind = 'signup' ORDER BY id FOR UPDATE";
    match db {
        Db::Sqlite(_) => SQL,
        Db::Postgres(_) => LOCKED,
    }
}

/// Stores the reversal and each link's step in one transaction.
pub async fn record(db: &Db, new: NewReversal<'_>) -> Result<ReversalOutcome, RecordError> {
    let signup = new.signup;
    let outcomes: Vec<LinkOutcome> = serde_json::from_str(&signup.link_outcomes)?;
    let select = signup_deliveries_sql(db);
    let lock = lock_signup_sql(db);
    let r = new.reversal;
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let _: Option<i64> = sqlx::query_scalar(lock).bind(signup.id).fetch_optional(&mut *tx).await?;
        let row: Option<(String, String)> = sqlx::query_as(EXISTING)
            .bind(signup.id).bind(&r.reversal_id).fetch_optional(&mut *tx).await?;
        if let Some(outcome) = earlier(row, new.request_hash)? {
            tx.rollback().await?;
            return Ok(outcome);
        }
        let amounts: Vec<String> = sqlx::query_scalar(EARLIER_AMOUNTS)
            .bind(signup.id).bind(&r.reversal_id).fetch_all(&mut *tx).await?;
        if sum_cents(&amounts) != new.earlier_cents {
            tx.rollback().await?;
            return Ok(ReversalOutcome::Stale);
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
        let work = if signup.eligible {
            let deliveries: Vec<SignupDelivery> =
                sqlx::query_as(select).bind(signup.id).fetch_all(&mut *tx).await?;
            link_work(&deliveries, &outcomes, &new.calls, new.now)?
        } else {
            Vec::new()
        };
        for (sql, id) in work.iter().flat_map(LinkWork::updates) {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let queued: Vec<(i64, i64)> = match queue_reversals(signup.id, reversal_row, new.now, &work) {
            Some(mut insert) => insert.build_query_as().fetch_all(&mut *tx).await?,
            None => Vec::new(),
        };
        let links = with_deliveries(work, &queued);
        let answer = answer(&new, links);
        let stored = serde_json::to_string(&answer)?;
        sqlx::query(STORE_ANSWER).bind(reversal_row).bind(stored).execute(&mut *tx).await?;
        sqlx::query(COUNT_REVERSED).bind(hour_of(new.now)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(ReversalOutcome::Created(answer))
    })
}

/// Each link's step with the reversal delivery it queued, found by slot.
fn with_deliveries(work: Vec<LinkWork>, queued: &[(i64, i64)]) -> Vec<ReversalLink> {
    work.into_iter()
        .map(|w| ReversalLink {
            delivery_id: queued
                .iter()
                .find(|(_, slot)| *slot == w.plan.link)
                .map(|(id, _)| *id),
            plan: w.plan,
        })
        .collect()
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
