//! The Prometheus metrics listener (`AFFDESK_METRICS_ADDR`), on SQLite and PostgreSQL: a scrape
//! in Prometheus's text format with what the intake, the worker, the reversal API, logins and
//! every routed request recorded, and the pending deliveries read from the database.
//!
//! The recorder is one per process, so the servers of other tests running beside these record
//! into it too: the checks look for series with at least the counts this test caused.

use crate::common::{spawn_receiver, TestApp};
use reqwest::StatusCode;
use serde_json::json;

on_both_backends_with!(|s| {
    s.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    s.run_delivery_worker = false;
};
    a_scrape_shows_signups_deliveries_requests_and_what_is_pending,
);

/// The value of the series named exactly `series` (name and labels) in a scrape.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

async fn scrape(app: &TestApp) -> String {
    let at = app.metrics.expect("metrics are on");
    let res = reqwest::get(format!("http://{at}/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    res.text().await.unwrap()
}

async fn a_scrape_shows_signups_deliveries_requests_and_what_is_pending(app: &TestApp) {
    let tracker = spawn_receiver().await;
    app.set_one_server_link(&tracker.base).await;
    let token = app.api_token().await;
    let before = scrape(app).await;
    let counted = |s: &str| value(s, r#"affdesk_signups_total{decision="counted"}"#).unwrap_or(0.0);

    for order in ["M-1", "M-2"] {
        let res = app
            .post_signup(
                &token,
                &json!({"order_id": order, "payment_method": "credit_card"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let pending = scrape(app).await;
    assert!(counted(&pending) >= counted(&before) + 2.0, "{pending}");
    assert_eq!(
        value(&pending, "affdesk_deliveries_pending"),
        Some(2.0),
        "read from this test's database"
    );
    assert!(value(&pending, "affdesk_oldest_pending_delivery_seconds").is_some());
    assert!(
        value(
            &pending,
            r#"affdesk_http_requests_total{route="/api/v1/signups",status="201"}"#
        )
        .is_some_and(|n| n >= 2.0),
        "{pending}"
    );

    app.drain_deliveries().await;
    let bad = app
        .bare_client()
        .post(app.url("/login"))
        .form(&[("username", "nobody"), ("password", "wrong password!")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::SEE_OTHER);
    let after = scrape(app).await;
    assert_eq!(value(&after, "affdesk_deliveries_pending"), Some(0.0));
    assert!(
        value(
            &after,
            r#"affdesk_deliveries_total{link="1",kind="signup",outcome="delivered"}"#
        )
        .is_some_and(|n| n >= 2.0),
        "{after}"
    );
    assert!(
        after.contains(r#"affdesk_delivery_call_seconds_bucket{link="1",le="0.05"}"#),
        "{after}"
    );
    assert!(
        value(&after, r#"affdesk_login_failures_total{step="password"}"#).is_some_and(|n| n >= 1.0),
        "{after}"
    );
    assert!(!after.contains("M-1"), "no order id is a label");
}
