//! The delivery worker: claims due server-to-server deliveries, calls each through the guarded
//! client, stores every attempt, and schedules retries by the pure rules in `domain::retry`.
//!
//! Claiming takes a lease (`lease_until`) in one statement; on PostgreSQL the candidates are
//! picked `FOR UPDATE SKIP LOCKED`, so several affdesk processes never claim the same delivery. A
//! lease that outlives its worker (a crash) expires and the delivery is claimed again.

use crate::domain::call::CallOutcome;
use crate::domain::link_health::{self, FailingSince, TryEnd};
use crate::domain::retry::{next_attempt_at, parse_retry_after, Verdict};
use crate::domain::states::{DeliveryKind, DeliveryState};
use crate::domain::success::{ReplyRules, RuleResult};
use crate::server::clock::Clock;
use crate::server::remote::outbound::OutboundClient;
use crate::server::storage::alerts::{IncidentTx, Queued, WatchedCall};
use crate::server::storage::db::Db;
use crate::server::storage::db::{sqlite_write_turn, BeginWrite};
use crate::server::worker::alerts::AlertWaker;
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// A lease lasts this many times the call timeout (15 s by default, so a minute): a live worker's
/// lease never expires under a call, and a crashed worker's deliveries are retried soon after.
pub const LEASE_PER_TIMEOUT: u32 = 4;

/// How long a claim holds a delivery, for calls limited to `call_timeout`.
pub fn lease_for(call_timeout: Duration) -> TimeDelta {
    TimeDelta::from_std(call_timeout * LEASE_PER_TIMEOUT).unwrap_or(TimeDelta::minutes(1))
}
/// How long an idle worker sleeps before looking again (a new signup wakes it sooner).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy)]
pub struct DeliveryLimits {
    pub total: usize,
    pub per_host: usize,
}

impl Default for DeliveryLimits {
    fn default() -> Self {
        Self {
            total: 32,
            per_host: 4,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Claimed {
    id: i64,
    url: String,
    host: String,
    tries: i32,
    slot: i32,
    #[sqlx(try_from = "String")]
    kind: DeliveryKind,
    success_contains: String,
    success_not_contains: String,
    /// A reversal asked to cancel it while an earlier try was under way, and that try never
    /// finished (its worker died): it is not sent again.
    cancel_requested: bool,
}

impl Claimed {
    fn rules(&self) -> ReplyRules {
        ReplyRules {
            contains: self.success_contains.clone(),
            not_contains: self.success_not_contains.clone(),
        }
    }
}

/// What the worker calls trackers with and stores attempts in; nothing else (built from the
/// application state by `AppState::delivery_context`).
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub db: Db,
    pub outbound: OutboundClient,
    pub clock: Arc<dyn Clock>,
    /// Woken when a group of calls queued alerts.
    pub alerts: AlertWaker,
    /// Where alert messages tell the admin to look, when affdesk knows its address.
    pub page_url: Option<String>,
}

/// Wakes the worker when a signup queued deliveries.
#[derive(Debug, Clone, Default)]
pub struct DeliveryWaker(Arc<Notify>);

impl DeliveryWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

#[derive(Clone)]
pub struct DeliveryWorker {
    ctx: DeliveryContext,
    total: Arc<Semaphore>,
    limits: DeliveryLimits,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    recorder: Arc<Recorder>,
}

/// Claims up to `limit` due deliveries, skipping hosts in `saturated` (already at their limit in
/// this process), so a busy tracker's deliveries wait in the database rather than in memory.
#[tracing::instrument(name = "delivery_claim", skip_all, fields(limit = limit, saturated = saturated.len()))]
async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
    saturated: &[String],
    lease: TimeDelta,
) -> Result<Vec<Claimed>, sqlx::Error> {
    // SQLite's planner, without statistics, prefers the (state, next_attempt_at) index and then
    // sorts the whole backlog; the claim-order index is named so each claim reads a few rows.
    const SQLITE: &str = "UPDATE deliveries SET lease_until = $1 WHERE id IN ( \
        SELECT id FROM deliveries INDEXED BY deliveries_claimable \
        WHERE state IN ('pending', 'failing') AND next_attempt_at <= $2 \
        AND (lease_until IS NULL OR lease_until < $2) \
        AND host NOT IN (SELECT value FROM json_each($4)) \
        ORDER BY next_attempt_at LIMIT $3) \
        RETURNING id, url, host, tries, slot, kind, success_contains, success_not_contains, cancel_requested";
    const POSTGRES: &str = "UPDATE deliveries SET lease_until = $1 WHERE id IN ( \
        SELECT id FROM deliveries WHERE state IN ('pending', 'failing') AND next_attempt_at <= $2 \
        AND (lease_until IS NULL OR lease_until < $2) AND host <> ALL($4) \
        ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
        RETURNING id, url, host, tries, slot, kind, success_contains, success_not_contains, cancel_requested";
    let lease_until = now + lease;
    match db {
        Db::Sqlite(pool) => {
            let hosts = serde_json::to_string(saturated).unwrap_or_else(|_| "[]".to_owned());
            let _turn = sqlite_write_turn(pool).await;
            sqlx::query_as(SQLITE)
                .bind(lease_until)
                .bind(now)
                .bind(limit)
                .bind(hosts)
                .fetch_all(pool)
                .await
        }
        Db::Postgres(pool) => {
            sqlx::query_as(POSTGRES)
                .bind(lease_until)
                .bind(now)
                .bind(limit)
                .bind(saturated)
                .fetch_all(pool)
                .await
        }
    }
}

/// Gives a claimed delivery back untried (its host filled up within this batch); its schedule
/// is unchanged and it is claimed again when the host has room.
async fn release(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE deliveries SET lease_until = NULL WHERE id = $1";
    match db {
        Db::Sqlite(pool) => {
            let _turn = sqlite_write_turn(pool).await;
            sqlx::query(SQL).bind(id).execute(pool).await.map(|_| ())
        }
        Db::Postgres(pool) => sqlx::query(SQL).bind(id).execute(pool).await.map(|_| ()),
    }
}

impl DeliveryWorker {
    pub fn new(ctx: DeliveryContext, limits: DeliveryLimits) -> Self {
        Self {
            ctx,
            total: Arc::new(Semaphore::new(limits.total.max(1))),
            limits,
            hosts: Arc::new(Mutex::new(HashMap::new())),
            recorder: Arc::default(),
        }
    }

    fn host_permit(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_host.max(1))))
                .clone()
        };
        semaphore.try_acquire_owned().ok()
    }

    /// Claims what is due and can start now, and starts it in `tasks`. Returns how many started.
    async fn dispatch(&self, tasks: &mut JoinSet<()>) -> usize {
        let free = self.total.available_permits();
        if free == 0 {
            return 0;
        }
        let now = self.ctx.clock.now();
        let saturated: Vec<String> = {
            let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .iter()
                .filter(|(_, permits)| permits.available_permits() == 0)
                .map(|(host, _)| host.clone())
                .collect()
        };
        let lease = lease_for(self.ctx.outbound.timeout());
        let claimed = match claim(&self.ctx.db, now, free as i64, &saturated, lease).await {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(error = %err, "cannot claim deliveries");
                return 0;
            }
        };
        let mut started = 0;
        for delivery in claimed {
            let (Some(host_permit), Ok(total_permit)) = (
                self.host_permit(&delivery.host),
                self.total.clone().try_acquire_owned(),
            ) else {
                if let Err(err) = release(&self.ctx.db, delivery.id).await {
                    // Its lease expires and it is claimed again then.
                    tracing::error!(error = %err, delivery = delivery.id, "cannot release a delivery");
                }
                continue;
            };
            let state = self.ctx.clone();
            let recorder = self.recorder.clone();
            tasks.spawn(async move {
                attempt(&state, &recorder, delivery).await;
                drop((host_permit, total_permit));
            });
            started += 1;
        }
        started
    }

    /// Tries every delivery due now and waits for them: the tests' deterministic drain.
    pub async fn run_once(&self) -> usize {
        let mut tasks = JoinSet::new();
        let mut total = 0;
        loop {
            let started = self.dispatch(&mut tasks).await;
            total += started;
            if started == 0 && tasks.is_empty() {
                return total;
            }
            if started == 0 {
                tasks.join_next().await;
            }
        }
    }

    /// Runs until `shutdown` turns true, then lets the calls under way finish.
    pub async fn run(self, waker: DeliveryWaker, mut shutdown: watch::Receiver<bool>) {
        let mut tasks = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            // While calls are under way, claim only once a quarter of the permits are free: a
            // busy worker then makes one claim for several deliveries rather than one per call.
            // An idle or lightly loaded worker claims at once.
            let claim_at = (self.limits.total / 4).max(1);
            if (tasks.is_empty() || self.total.available_permits() >= claim_at)
                && self.dispatch(&mut tasks).await > 0
            {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = waker.0.notified() => {}
                _ = shutdown.changed() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        let in_flight = tasks.len();
        if in_flight > 0 {
            tracing::info!(in_flight, "finishing deliveries under way before stopping");
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// One finished try, as it is stored: the attempt's row and the delivery's next state.
#[derive(Debug)]
struct Finished {
    delivery_id: i64,
    slot: i32,
    finished_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
    duration_ms: i64,
    status: Option<i32>,
    body_excerpt: String,
    error_kind: Option<String>,
    error: Option<String>,
    state: DeliveryState,
    tries: i32,
    next_at: DateTime<Utc>,
    last_error: Option<String>,
    /// Whether a call was made (a try of a delivery cancelled meanwhile makes none).
    called: bool,
}

/// The most tries stored by one statement pair (7 parameters a row stays far below SQLite's and
/// PostgreSQL's limits).
const MAX_BATCH: usize = 256;

type Waiting = (Finished, oneshot::Sender<Result<(), String>>);

/// Stores finished tries in groups: one transaction, one multi-row insert of attempts and one
/// update of their deliveries for every try that finished while the previous group was being
/// written. Each caller still returns only once its own try is stored (or storing it failed), so
/// a try is never reported done before it is in the database.
#[derive(Default)]
struct Recorder {
    queue: Mutex<Vec<Waiting>>,
    /// Held by whoever writes a group; the others wait their turn and usually find their try
    /// already written.
    writer: tokio::sync::Mutex<()>,
    /// The hour whose old counts were last dropped.
    pruned_hour: AtomicI64,
}

impl Recorder {
    async fn store(&self, ctx: &DeliveryContext, finished: Finished) -> Result<(), String> {
        let (done, mut outcome) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((finished, done));
        let _turn = self.writer.lock().await;
        loop {
            match outcome.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err("the group holding this try was abandoned".to_owned())
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let group: Vec<Waiting> = {
                let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            let (rows, waiting): (Vec<Finished>, Vec<_>) = group.into_iter().unzip();
            // Old counts are dropped once an hour, by the first group of a new hour.
            let prune_before = rows.first().and_then(|first| {
                let hour = link_health::hour_of(first.finished_at);
                let last = self.pruned_hour.swap(hour, Ordering::Relaxed);
                (last != hour).then_some(hour - link_health::KEEP_HOURS)
            });
            let result = write_group(&ctx.db, &rows, prune_before, ctx.page_url.as_deref())
                .await
                .map(|Queued(alerts)| {
                    if alerts > 0 {
                        ctx.alerts.wake();
                    }
                })
                .map_err(|e| e.to_string());
            for done in waiting {
                let _ = done.send(result.clone());
            }
        }
    }
}

/// The calls a group's tries made, as the incident watcher sees them.
fn watched(rows: &[Finished]) -> Vec<WatchedCall> {
    rows.iter()
        .filter_map(|f| WatchedCall::of(f.slot, f.state, f.finished_at, f.called))
        .collect()
}

fn health_tries(rows: &[Finished]) -> Vec<link_health::FinishedTry> {
    rows.iter()
        .map(|f| link_health::FinishedTry {
            slot: f.slot,
            at: f.finished_at,
            end: match f.state {
                DeliveryState::Delivered => TryEnd::Delivered,
                DeliveryState::Failing => TryEnd::Failed,
                _ => TryEnd::GivenUp,
            },
        })
        .collect()
}

// `VALUES` columns are named column1, column2, … by both SQLite and PostgreSQL. A delivery a
// reversal asked to cancel while its call was under way ends cancelled unless it was delivered;
// those rows come back, so their held reversal deliveries are released or cancelled.
const UPDATE_DELIVERIES: &str = "UPDATE deliveries SET \
    state = CASE WHEN deliveries.cancel_requested AND v.column2 <> 'delivered' \
        THEN 'cancelled' ELSE v.column2 END, \
    tries = v.column3, next_attempt_at = v.column4, lease_until = NULL, last_error = v.column5, \
    delivered_at = CASE WHEN v.column2 = 'delivered' THEN v.column4 ELSE deliveries.delivered_at END \
    FROM (";
// The held reversal deliveries of signup deliveries whose call has ended: sent if the signup
// call was delivered, cancelled otherwise.
const RELEASE_HELD: &str = "UPDATE deliveries SET \
    state = CASE WHEN (SELECT p.state FROM deliveries p WHERE p.id = deliveries.parent_id) = 'delivered' \
        THEN 'pending' ELSE 'cancelled' END \
    WHERE state = 'held' AND parent_id IN (";
// The primary key starts with the slot, so this reads the table's few rows.
const PRUNE_HOURS: &str = "DELETE FROM link_hours WHERE hour < $1";
const INSERT_ATTEMPTS: &str = "INSERT INTO delivery_attempts (delivery_id, started_at, \
    duration_ms, status_code, body_excerpt, error_kind, error_message) ";

/// Stores one group; `prune_before`, when set, also drops hourly counts older than that hour.
/// The calls' ends go to their links' watches in the same transaction (opening or closing
/// incidents and queuing their alerts, which it counts).
async fn write_group(
    db: &Db,
    rows: &[Finished],
    prune_before: Option<i64>,
    page_url: Option<&str>,
) -> Result<Queued, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Queued::default());
    }
    let calls = watched(rows);
    let (counts, marks) = link_health::summarize(&health_tries(rows));
    with_pool!(db, pool => {
        let mut attempts = sqlx::QueryBuilder::new(INSERT_ATTEMPTS);
        attempts.push_values(rows, |mut row, f| {
            row.push_bind(f.delivery_id)
                .push_bind(f.started_at)
                .push_bind(f.duration_ms)
                .push_bind(f.status)
                .push_bind(&f.body_excerpt)
                .push_bind(&f.error_kind)
                .push_bind(&f.error);
        });
        let mut update = sqlx::QueryBuilder::new(UPDATE_DELIVERIES);
        update.push_values(rows, |mut row, f| {
            row.push_bind(f.delivery_id)
                .push_bind(f.state.as_str())
                .push_bind(f.tries)
                .push_bind(f.next_at)
                .push_bind(&f.last_error);
        });
        // A delivery a reversal cancelled meanwhile stays cancelled, whatever this try says.
        update.push(") AS v WHERE deliveries.id = v.column1 \
            AND deliveries.state IN ('pending', 'failing') \
            RETURNING deliveries.id, deliveries.cancel_requested");
        let mut tx = pool.begin_write().await?;
        attempts.build().execute(&mut *tx).await?;
        let updated: Vec<(i64, bool)> = update.build_query_as().fetch_all(&mut *tx).await?;
        let ended: Vec<i64> = updated.into_iter().filter(|(_, asked)| *asked).map(|(id, _)| id).collect();
        if !ended.is_empty() {
            let mut release = sqlx::QueryBuilder::new(RELEASE_HELD);
            let mut ids = release.separated(", ");
            for id in &ended {
                ids.push_bind(*id);
            }
            release.push(")");
            release.build().execute(&mut *tx).await?;
        }
        hours_upsert(&counts).build().execute(&mut *tx).await?;
        if !marks.is_empty() {
            marks_update(&marks).build().execute(&mut *tx).await?;
        }
        if let Some(oldest_kept) = prune_before {
            sqlx::query(PRUNE_HOURS).bind(oldest_kept).execute(&mut *tx).await?;
        }
        let queued = (*tx).observe_calls(&calls, page_url).await?;
        tx.commit().await?;
        Ok(queued)
    })
}

/// Adds a group's counts to each (link, hour).
fn hours_upsert<'a, DB>(counts: &'a [link_health::HourCounts]) -> sqlx::QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    DB::Arguments<'a>: Default,
    i32: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut hours = sqlx::QueryBuilder::new(
        "INSERT INTO link_hours (slot, hour, delivered, failed_tries, given_up) ",
    );
    hours.push_values(counts, |mut row, c| {
        row.push_bind(c.slot)
            .push_bind(c.hour)
            .push_bind(c.delivered)
            .push_bind(c.failed_tries)
            .push_bind(c.given_up);
    });
    hours.push(
        " ON CONFLICT (slot, hour) DO UPDATE SET \
        delivered = link_hours.delivered + excluded.delivered, \
        failed_tries = link_hours.failed_tries + excluded.failed_tries, \
        given_up = link_hours.given_up + excluded.given_up",
    );
    hours
}

/// Every link's "failing since" mark in one statement: a CASE per slot.
fn marks_update<'a, DB>(marks: &'a [(i32, FailingSince)]) -> sqlx::QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    DB::Arguments<'a>: Default,
    i32: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<DateTime<Utc>>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut update =
        sqlx::QueryBuilder::new("UPDATE affiliate_links SET failing_since = CASE slot");
    for (slot, mark) in marks {
        update.push(" WHEN ").push_bind(*slot).push(" THEN ");
        match mark {
            FailingSince::KeepOrSet(at) => {
                update
                    .push("COALESCE(failing_since, ")
                    .push_bind(*at)
                    .push(")");
            }
            FailingSince::Replace(at) => {
                update.push_bind(*at);
            }
        }
    }
    update.push(" ELSE failing_since END WHERE slot IN (");
    let mut slots = update.separated(", ");
    for (slot, _) in marks {
        slots.push_bind(*slot);
    }
    update.push(")");
    update
}

/// Where a try leaves its delivery: its next state and when it is next due, and the reply rule
/// the answer broke (a refusal by the tracker), if it broke one.
fn next_step(
    outcome: &CallOutcome,
    rules: &ReplyRules,
    tries: u32,
    now: DateTime<Utc>,
) -> (DeliveryState, DateTime<Utc>, Option<String>) {
    let retry_after = outcome
        .retry_after
        .as_deref()
        .and_then(|v| parse_retry_after(v, now));
    let judged = rules.judge(outcome.status, retry_after, &outcome.body_excerpt);
    let broken = match judged.rule {
        Some(RuleResult::Broken(why)) => Some(why),
        _ => None,
    };
    let (state, at) = match judged.verdict {
        Verdict::Delivered => (DeliveryState::Delivered, now),
        Verdict::Failed => (DeliveryState::Failed, now),
        Verdict::Retry { retry_after } => {
            match next_attempt_at(now, tries, rand::random::<f64>(), retry_after) {
                Some(at) => (DeliveryState::Failing, at),
                None => (DeliveryState::Exhausted, now),
            }
        }
    };
    (state, at, broken)
}

/// What the delivery shows as its last error after a try: the failure, or the status of an
/// answer that was no success; nothing once delivered.
fn last_error(error: Option<&str>, status: Option<u16>, next: DeliveryState) -> Option<String> {
    match (error, status) {
        (Some(e), _) => Some(e.to_owned()),
        (None, Some(status)) if next != DeliveryState::Delivered => {
            Some(format!("HTTP status {status}"))
        }
        _ => None,
    }
}

/// A try that makes no call: its signup was reversed while an earlier try was under way, and
/// that try never finished. Stored as a failed try, which the group update turns into
/// `cancelled` (and its held reversal with it).
fn not_sent(url: &str) -> CallOutcome {
    CallOutcome {
        url: url.to_owned(),
        status: None,
        elapsed_ms: 0,
        body_excerpt: String::new(),
        error: Some("not sent: the signup was reversed while an earlier try was under way, and that try never finished".to_owned()),
        error_kind: Some("cancelled".to_owned()),
        retry_after: None,
        rule: None,
    }
}

/// Logs a finished try. The delivery's fields are on each event as well as on the span, so a
/// line says which delivery it is about whatever the log level lets through.
fn log_try(
    id: i64,
    status: Option<u16>,
    tries: u32,
    (next_state, next_at): (DeliveryState, DateTime<Utc>),
    error: &str,
) {
    match next_state {
        // A busy day delivers tens of thousands; they are counted on the pages, not logged.
        DeliveryState::Delivered => tracing::debug!(delivery = id, ?status, tries, "delivered"),
        DeliveryState::Failing => tracing::info!(
            delivery = id, ?status, tries, next_at = %next_at, error,
            "delivery failed; will retry"
        ),
        _ => tracing::warn!(
            delivery = id, ?status, tries, state = %next_state, error,
            "delivery given up"
        ),
    }
}

/// One try of one delivery: call, then store the attempt and move the delivery on.
#[tracing::instrument(
    name = "delivery_attempt",
    skip_all,
    fields(delivery_id = delivery.id, link = delivery.slot, attempt = delivery.tries + 1)
)]
async fn attempt(ctx: &DeliveryContext, recorder: &Recorder, delivery: Claimed) {
    let started_at = ctx.clock.now();
    let outcome = if delivery.cancel_requested {
        not_sent(&delivery.url)
    } else {
        ctx.outbound
            .get(
                &delivery.url,
                &[("Idempotency-Key", delivery.id.to_string())],
            )
            .await
    };
    let now = ctx.clock.now();
    let tries = u32::try_from(delivery.tries).unwrap_or(0) + 1;
    let (next_state, next_at, refused) = next_step(&outcome, &delivery.rules(), tries, now);
    let (error_kind, error) = match refused {
        Some(why) => (Some("refused".to_owned()), Some(why)),
        None => (outcome.error_kind, outcome.error),
    };
    let last_error = last_error(error.as_deref(), outcome.status, next_state);
    crate::server::metrics::delivery_call(
        delivery.slot,
        delivery.kind.as_str(),
        next_state.as_str(),
        outcome.elapsed_ms as f64 / 1000.0,
    );
    log_try(
        delivery.id,
        outcome.status,
        tries,
        (next_state, next_at),
        // A refusal's words quote the tracker's reply, which may echo personal data from the
        // link: the log says only that a rule refused it (the attempt log has the rest).
        match error_kind.as_deref() {
            Some("refused") => "the tracker refused it (a reply rule); see the attempt log",
            _ => last_error.as_deref().unwrap_or_default(),
        },
    );
    let id = delivery.id;
    let finished = Finished {
        delivery_id: delivery.id,
        slot: delivery.slot,
        finished_at: now,
        started_at,
        duration_ms: i64::try_from(outcome.elapsed_ms).unwrap_or(i64::MAX),
        status: outcome.status.map(i32::from),
        body_excerpt: outcome.body_excerpt,
        error_kind,
        error,
        state: next_state,
        tries: i32::try_from(tries).unwrap_or(i32::MAX),
        next_at,
        last_error,
        called: !delivery.cancel_requested,
    };
    if let Err(err) = recorder.store(ctx, finished).await {
        // The lease expires and the delivery is tried again: at least once, never lost.
        tracing::error!(error = %err, delivery = id, "cannot store a delivery attempt");
    }
}
