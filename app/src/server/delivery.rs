//! The delivery worker: claims due server-to-server deliveries, calls each through the guarded
//! client, stores every attempt, and schedules retries by the pure rules in `domain::retry`.
//!
//! Claiming takes a lease (`lease_until`) in one statement; on PostgreSQL the candidates are
//! picked `FOR UPDATE SKIP LOCKED`, so several affdesk processes never claim the same delivery. A
//! lease that outlives its worker (a crash) expires and the delivery is claimed again.

use crate::server::db::BeginWrite;
use crate::domain::retry::{classify, next_attempt_at, parse_retry_after, Verdict};
use crate::server::db::Db;
use crate::server::state::AppState;
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
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
    state: AppState,
    total: Arc<Semaphore>,
    limits: DeliveryLimits,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

/// Claims up to `limit` due deliveries, skipping hosts in `saturated` (already at their limit in
/// this process), so a busy tracker's deliveries wait in the database rather than in memory.
async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
    saturated: &[String],
    lease: TimeDelta,
) -> Result<Vec<Claimed>, sqlx::Error> {
    const SQLITE: &str = "UPDATE deliveries SET lease_until = $1 WHERE id IN ( \
        SELECT id FROM deliveries WHERE state IN ('pending', 'failing') AND next_attempt_at <= $2 \
        AND (lease_until IS NULL OR lease_until < $2) \
        AND host NOT IN (SELECT value FROM json_each($4)) \
        ORDER BY next_attempt_at LIMIT $3) \
        RETURNING id, url, host, tries";
    const POSTGRES: &str = "UPDATE deliveries SET lease_until = $1 WHERE id IN ( \
        SELECT id FROM deliveries WHERE state IN ('pending', 'failing') AND next_attempt_at <= $2 \
        AND (lease_until IS NULL OR lease_until < $2) AND host <> ALL($4) \
        ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
        RETURNING id, url, host, tries";
    let lease_until = now + lease;
    match db {
        Db::Sqlite(pool) => {
            let hosts = serde_json::to_string(saturated).unwrap_or_else(|_| "[]".to_owned());
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
    with_pool!(db, pool => sqlx::query(SQL).bind(id).execute(pool).await.map(|_| ()))
}

impl DeliveryWorker {
    pub fn new(state: AppState, limits: DeliveryLimits) -> Self {
        Self {
            state,
            total: Arc::new(Semaphore::new(limits.total.max(1))),
            limits,
            hosts: Arc::new(Mutex::new(HashMap::new())),
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
        let now = self.state.clock.now();
        let saturated: Vec<String> = {
            let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .iter()
                .filter(|(_, permits)| permits.available_permits() == 0)
                .map(|(host, _)| host.clone())
                .collect()
        };
        let lease = lease_for(self.state.outbound.timeout());
        let claimed = match claim(&self.state.db, now, free as i64, &saturated, lease).await {
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
                if let Err(err) = release(&self.state.db, delivery.id).await {
                    // Its lease expires and it is claimed again then.
                    tracing::error!(error = %err, delivery = delivery.id, "cannot release a delivery");
                }
                continue;
            };
            let state = self.state.clone();
            tasks.spawn(async move {
                attempt(&state, delivery).await;
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
            if self.dispatch(&mut tasks).await > 0 {
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

/// One try of one delivery: call, store the attempt, move the delivery on.
async fn attempt(state: &AppState, delivery: Claimed) {
    let started_at = state.clock.now();
    let outcome = state
        .outbound
        .get(
            &delivery.url,
            &[("Idempotency-Key", delivery.id.to_string())],
        )
        .await;
    let now = state.clock.now();
    let tries = u32::try_from(delivery.tries).unwrap_or(0) + 1;
    let retry_after = outcome
        .retry_after
        .as_deref()
        .and_then(|v| parse_retry_after(v, now));
    let verdict = classify(outcome.status, retry_after);
    let (next_state, next_at) = match verdict {
        Verdict::Delivered => ("delivered", now),
        Verdict::Failed => ("failed", now),
        Verdict::Retry { retry_after } => {
            match next_attempt_at(now, tries, rand::random::<f64>(), retry_after) {
                Some(at) => ("failing", at),
                None => ("exhausted", now),
            }
        }
    };
    let last_error = match (&outcome.error, outcome.status) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(status)) if next_state != "delivered" => Some(format!("HTTP status {status}")),
        _ => None,
    };
    if let Err(err) = store_attempt(
        state, &delivery, &outcome, started_at, tries, next_state, next_at, last_error,
    )
    .await
    {
        // The lease expires and the delivery is tried again: at least once, never lost.
        tracing::error!(error = %err, delivery = delivery.id, "cannot store a delivery attempt");
    }
    tracing::info!(delivery = delivery.id, status = ?outcome.status, state = next_state, tries, "delivery attempt");
}

#[allow(clippy::too_many_arguments)]
async fn store_attempt(
    state: &AppState,
    delivery: &Claimed,
    outcome: &crate::domain::call::CallOutcome,
    started_at: DateTime<Utc>,
    tries: u32,
    next_state: &str,
    next_at: DateTime<Utc>,
    last_error: Option<String>,
) -> Result<(), sqlx::Error> {
    const ATTEMPT: &str = "INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, \
        status_code, body_excerpt, error_kind, error_message) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    const UPDATE: &str = "UPDATE deliveries SET state = $1, tries = $2, next_attempt_at = $3, \
        lease_until = NULL, last_error = $4, \
        delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at END WHERE id = $6";
    with_pool!(&state.db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(ATTEMPT)
            .bind(delivery.id)
            .bind(started_at)
            .bind(outcome.elapsed_ms as i64)
            .bind(outcome.status.map(i32::from))
            .bind(&outcome.body_excerpt)
            .bind(&outcome.error_kind)
            .bind(&outcome.error)
            .execute(&mut *tx)
            .await?;
        sqlx::query(UPDATE)
            .bind(next_state)
            .bind(tries as i32)
            .bind(next_at)
            .bind(last_error)
            .bind(next_at)
            .bind(delivery.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}
