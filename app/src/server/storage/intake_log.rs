//! The intake log: every call to the signup API (`/api/v1/signups…`), refused ones too, so an
//! admin can see whether a billing system called, and what it was told. Never the token, never
//! the customer's email. Kept 7 days or 10,000 calls, whichever is less.
//!
//! A call's answer never waits for its log entry: entries go to one task that writes them in
//! groups (as the signup writer does), so a burst of signups costs one insert per group.

use crate::server::clock::Clock;
use crate::server::storage::db::{BeginWrite, Db};
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How long calls are kept.
pub const KEEP_FOR: TimeDelta = TimeDelta::days(7);
/// How many calls are kept at most.
pub const KEEP_CALLS: i64 = 10_000;
/// How many entries may wait for the writer; past that an entry is dropped (and the drop
/// logged), never the call it describes.
const QUEUE: usize = 4096;
const MAX_GROUP: usize = 256;
/// The log is pruned at most this often.
const PRUNE_EVERY: TimeDelta = TimeDelta::minutes(1);

/// One call, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeCall {
    pub received_at: DateTime<Utc>,
    /// `signup` or `reversal`.
    pub endpoint: &'static str,
    /// The API token's name; `None` without a valid token.
    pub token_name: Option<String>,
    pub order_id: String,
    pub status: u16,
    /// Whether the signup counted and why, the field errors, or what the refusal said.
    pub outcome: String,
    pub duration_ms: i64,
}

/// Hands calls to the log's writer.
#[derive(Debug, Clone)]
pub struct IntakeLog {
    entries: mpsc::Sender<IntakeCall>,
    clock: Arc<dyn Clock>,
}

impl IntakeLog {
    /// Starts the writer on the current tokio runtime; it stops once every handle is dropped,
    /// after writing what it was sent.
    pub fn spawn(db: Db, clock: Arc<dyn Clock>) -> Self {
        let (entries, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run_writer(db, queue));
        Self { entries, clock }
    }

    /// The time a call is logged at.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Logs a call; never waits.
    pub fn record(&self, call: IntakeCall) {
        if let Err(err) = self.entries.try_send(call) {
            tracing::warn!(error = %err, "intake log is behind; one call was not logged");
        }
    }
}

async fn run_writer(db: Db, mut queue: mpsc::Receiver<IntakeCall>) {
    let mut calls = Vec::with_capacity(MAX_GROUP);
    let mut pruned_at: Option<DateTime<Utc>> = None;
    while queue.recv_many(&mut calls, MAX_GROUP).await > 0 {
        let newest = calls.iter().map(|c| c.received_at).max();
        let prune_before = newest
            .filter(|now| pruned_at.is_none_or(|at| *now - at >= PRUNE_EVERY))
            .map(|now| now - KEEP_FOR);
        match write(&db, &calls, prune_before).await {
            Ok(()) if prune_before.is_some() => pruned_at = newest,
            Ok(()) => {}
            Err(err) => {
                tracing::warn!(error = %err, calls = calls.len(), "cannot write the intake log")
            }
        }
        calls.clear();
    }
}

const INSERT: &str = "INSERT INTO intake_calls (received_at, endpoint, token_name, order_id, \
    status, outcome, duration_ms) ";
const PRUNE: &str = "DELETE FROM intake_calls WHERE received_at < $1 \
    OR id <= (SELECT MAX(id) FROM intake_calls) - $2";

async fn write(
    db: &Db,
    calls: &[IntakeCall],
    prune_before: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => {
        let mut insert = sqlx::QueryBuilder::new(INSERT);
        insert.push_values(calls, |mut row, c| {
            row.push_bind(c.received_at)
                .push_bind(c.endpoint)
                .push_bind(&c.token_name)
                .push_bind(&c.order_id)
                .push_bind(i32::from(c.status))
                .push_bind(&c.outcome)
                .push_bind(c.duration_ms);
        });
        let mut tx = pool.begin_write().await?;
        insert.build().execute(&mut *tx).await?;
        if let Some(before) = prune_before {
            sqlx::query(PRUNE).bind(before).bind(KEEP_CALLS).execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

/// A logged call, as read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntakeCallRow {
    pub received_at: DateTime<Utc>,
    pub endpoint: String,
    pub token_name: Option<String>,
    pub order_id: String,
    pub status: i32,
    pub outcome: String,
    pub duration_ms: i64,
}

/// Which calls to list: all, those answered with one status, or a class (`2xx`, `4xx`, `5xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Exactly(u16),
    Class(u16),
}

impl StatusFilter {
    /// `""`, `"422"` or `"4xx"`; anything else is `All`.
    pub fn parse(raw: &str) -> Self {
        match raw.as_bytes() {
            [c @ b'1'..=b'5', b'x', b'x'] => StatusFilter::Class(u16::from(c - b'0')),
            _ => raw
                .parse::<u16>()
                .ok()
                .filter(|s| (100..600).contains(s))
                .map_or(StatusFilter::All, StatusFilter::Exactly),
        }
    }

    /// The range of statuses it lets through.
    fn range(self) -> (i32, i32) {
        match self {
            StatusFilter::All => (0, 999),
            StatusFilter::Exactly(s) => (i32::from(s), i32::from(s)),
            StatusFilter::Class(c) => (i32::from(c) * 100, i32::from(c) * 100 + 99),
        }
    }
}

/// The newest `limit` calls that pass `filter`.
pub async fn recent(
    db: &Db,
    filter: StatusFilter,
    limit: i64,
) -> Result<Vec<IntakeCallRow>, sqlx::Error> {
    const SQL: &str = "SELECT received_at, endpoint, token_name, order_id, status, outcome, \
        duration_ms FROM intake_calls WHERE status BETWEEN $1 AND $2 ORDER BY id DESC LIMIT $3";
    let (low, high) = filter.range();
    with_pool!(db, pool => sqlx::query_as(SQL).bind(low).bind(high).bind(limit).fetch_all(pool).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_are_read_from_the_page() {
        assert_eq!(StatusFilter::parse(""), StatusFilter::All);
        assert_eq!(StatusFilter::parse("422"), StatusFilter::Exactly(422));
        assert_eq!(StatusFilter::parse("4xx"), StatusFilter::Class(4));
        assert_eq!(StatusFilter::parse("9xx"), StatusFilter::All);
        assert_eq!(StatusFilter::parse("42"), StatusFilter::All);
        assert_eq!(StatusFilter::Class(2).range(), (200, 299));
    }
}
