//! Prometheus metrics, on a listener of their own (`AFFDESK_METRICS_ADDR`, off by default).
//!
//! Counters and the call-time histogram are recorded where things happen (the intake, the
//! reversal API, the delivery worker, logins, every routed request) through the `metrics`
//! facade: with no recorder installed (metrics off) each call does nothing. The gauges that
//! describe the database (pending deliveries and the oldest one's age, open incidents, alerts
//! not sent yet) are read at each scrape
//! and written into its text.

use crate::server::clock::Clock;
use crate::server::storage::alerts;
use crate::server::storage::db::Db;
use crate::server::storage::signup_queries;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

/// How long one call to a tracker took, in seconds: buckets from 50 ms to the 15 s default
/// timeout and past it.
const CALL_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0];

/// The process's one recorder. A process holds one (`metrics` has a single global recorder), so
/// several servers in one process (the tests) share it.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("affdesk_delivery_call_seconds".to_owned()),
                    &CALL_BUCKETS,
                )
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was already installed; affdesk's metrics may be missing"
                );
            }
            handle
        })
        .clone()
}

/// A signup stored by the intake: counted or not.
pub fn signup(counted: bool) {
    let decision = if counted { "counted" } else { "not_counted" };
    counter!("affdesk_signups_total", "decision" => decision).increment(1);
}

/// A reversal stored by the reversal API.
pub fn reversal(reason: &'static str) {
    counter!("affdesk_reversals_total", "reason" => reason).increment(1);
}

/// One finished call of a delivery: its link, kind (`signup`, `reversal`), where it left the
/// delivery (`delivered`, `failing`, `failed`, `exhausted`) and how long it took.
pub fn delivery_call(link: i32, kind: &'static str, outcome: &'static str, seconds: f64) {
    let link = link.to_string();
    counter!("affdesk_deliveries_total", "link" => link.clone(), "kind" => kind, "outcome" => outcome)
        .increment(1);
    histogram!("affdesk_delivery_call_seconds", "link" => link).record(seconds);
}

/// One try of an alert: its channel (`email`, `webhook`) and where it left the alert
/// (`delivered`, `failing`, `exhausted`, `failed`).
pub fn alert_try(channel: &'static str, outcome: &'static str) {
    counter!("affdesk_alerts_total", "channel" => channel, "outcome" => outcome).increment(1);
}

/// A login refused at `step` (`password` or `code`).
pub fn login_failure(step: &'static str) {
    counter!("affdesk_login_failures_total", "step" => step).increment(1);
}

/// Counts every routed request by its route (the pattern, never the path: ids and tokens stay
/// out of the labels) and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    counter!(
        "affdesk_http_requests_total",
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    response
}

/// What the metrics listener serves from.
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
}

/// `GET /metrics`: everything recorded, in Prometheus's text format, then the gauges read from
/// this server's database now. Those are written into this scrape's text, not into the
/// process's recorder, so two servers in one process (the tests) never show each other's.
pub async fn scrape(State(scrape): State<Scrape>) -> Response {
    let mut body = scrape.handle.render();
    match signup_queries::pending_deliveries(&scrape.db).await {
        Ok((count, oldest)) => {
            let age = oldest.map_or(0.0, |at| {
                (scrape.clock.now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            let _ = write!(
                body,
                "# TYPE affdesk_deliveries_pending gauge\naffdesk_deliveries_pending {count}\n\
                 # TYPE affdesk_oldest_pending_delivery_seconds gauge\n\
                 affdesk_oldest_pending_delivery_seconds {age}\n"
            );
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read the pending deliveries"),
    }
    match tokio::try_join!(
        alerts::open_incidents(&scrape.db),
        alerts::unsent(&scrape.db)
    ) {
        Ok((open, unsent)) => {
            let _ = write!(
                body,
                "# TYPE affdesk_incidents_open gauge\naffdesk_incidents_open {open}\n\
                 # TYPE affdesk_alerts_unsent gauge\naffdesk_alerts_unsent {unsent}\n"
            );
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read the open incidents"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
