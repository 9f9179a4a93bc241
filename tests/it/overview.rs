//! The overview page (the first page after login), on SQLite and PostgreSQL: its figures come
//! from the hourly counters the intake, the reversal API and the worker keep, and its charts
//! come drawn from the server.

use crate::common::{spawn_receiver, TestApp};
use app::api::overview::Overview;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends_with!(|s| s.run_delivery_worker = false;
    the_overview_counts_signups_reversals_and_each_links_calls,
);

async fn the_overview_counts_signups_reversals_and_each_links_calls(app: &TestApp) {
    let tracker = spawn_receiver().await;
    app.set_one_server_link(&tracker.base).await;
    let token = app.api_token().await;
    for (order, method) in [
        ("O-1", "credit_card"),
        ("O-2", "credit_card"),
        ("O-3", "paypal"),
    ] {
        let body =
            json!({"order_id": order, "payment_method": method, "moderated": method == "paypal"});
        assert_eq!(
            app.post_signup(&token, &body).await.status(),
            StatusCode::CREATED
        );
    }
    let admin = app.logged_in_admin().await;
    let view: Value = app.call(&admin, Overview {}).await.json().await.unwrap();
    assert_eq!(view["pending"], 2, "two calls wait: {view}");
    assert!(view["oldest_pending"].is_string());

    app.drain_deliveries().await;
    let reversal = app
        .bare_client()
        .post(app.url("/api/v1/signups/O-1/reversals"))
        .bearer_auth(&token)
        .json(&json!({"reason": "refund"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reversal.status(), StatusCode::CREATED);

    let view: Value = app.call(&admin, Overview {}).await.json().await.unwrap();
    for period in view["periods"].as_array().unwrap() {
        assert_eq!(
            (
                &period["counted"],
                &period["not_counted"],
                &period["reversed"]
            ),
            (&json!(2), &json!(1), &json!(1)),
            "{period}"
        );
    }
    assert_eq!(view["pending"], 0);
    let link = &view["links"][0];
    assert_eq!(
        (&link["link"], &link["delivered"], &link["success_rate"]),
        (&json!(1), &json!(2), &json!("100.0%"))
    );
    let today = view["signups"]["days"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(today["values"], json!([2, 1, 1]));
    assert_eq!(view["signups"]["days"].as_array().unwrap().len(), 30);
    assert!(view["signups"]["svg"].as_str().unwrap().starts_with("<svg"));

    let page = app.page(&admin, "/").await;
    assert!(page.contains("<svg class=\"chart\""), "drawn on the server");
    assert!(page.contains("Link 1: calls per day, last 30 days"));
}
