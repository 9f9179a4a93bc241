//! Settings → Connect signups, on SQLite and PostgreSQL: the OpenAPI description served and
//! committed, the WHMCS module's downloads, and the intake log of every call (refused ones too),
//! which never holds a token or a customer's email.

use crate::common::{self, wait_until, TestApp};
use app::api::connect::ConnectInfo;
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    every_intake_call_is_logged_with_its_answer_and_without_secrets,
    the_intake_log_keeps_seven_days,
    the_openapi_description_is_public_and_the_committed_one,
    the_connect_page_and_the_whmcs_module_are_for_admins_only,
);

fn card(order_id: &str) -> Value {
    json!({"order_id": order_id, "payment_method": "credit_card", "amount": "19.95"})
}

/// The intake log as the Connect page gets it, for answers passing `status`.
async fn logged(app: &TestApp, admin: &reqwest::Client, status: &str) -> Vec<Value> {
    let res = app
        .call(
            admin,
            ConnectInfo {
                status: status.to_owned(),
            },
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let view: Value = res.json().await.unwrap();
    view["calls"].as_array().unwrap().clone()
}

/// Waits until the log holds `n` calls (it is written beside the answers, not before them).
async fn wait_for_calls(app: &TestApp, admin: &reqwest::Client, n: usize) -> Vec<Value> {
    wait_until(10, &format!("{n} calls are logged"), || async {
        logged(app, admin, "").await.len() == n
    })
    .await;
    logged(app, admin, "").await
}

async fn every_intake_call_is_logged_with_its_answer_and_without_secrets(app: &TestApp) {
    app.set_links(true, &[]).await;
    let token = app.api_token().await;
    let admin = app.logged_in_admin().await;
    let client = app.bare_client();
    let post = |body: String, token: Option<&str>, kind: &str| {
        let mut request = client
            .post(app.url("/api/v1/signups"))
            .header("content-type", kind)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let json = "application/json";
    let answers = [
        post(card("LOG-1").to_string(), Some(&token), json)
            .await
            .unwrap()
            .status(),
        post(
            json!({"order_id": "LOG-2", "payment_method": "cheque", "email": "jane@nowhere"})
                .to_string(),
            Some(&token),
            json,
        )
        .await
        .unwrap()
        .status(),
        post(card("LOG-3").to_string(), None, json)
            .await
            .unwrap()
            .status(),
        post(card("LOG-4").to_string(), Some("affdesk_wrong"), json)
            .await
            .unwrap()
            .status(),
        post(card("LOG-5").to_string(), Some(&token), "text/plain")
            .await
            .unwrap()
            .status(),
        post(
            json!({"order_id": "LOG-1", "payment_method": "paypal"}).to_string(),
            Some(&token),
            json,
        )
        .await
        .unwrap()
        .status(),
        post("x".repeat(70 * 1024), Some(&token), json)
            .await
            .unwrap()
            .status(),
    ];
    assert_eq!(
        answers.map(|s| s.as_u16()),
        [201, 422, 401, 401, 415, 409, 413]
    );

    let calls = wait_for_calls(app, &admin, 7).await;
    let statuses: Vec<i64> = calls
        .iter()
        .rev()
        .map(|c| c["status"].as_i64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [201, 422, 401, 401, 415, 409, 413],
        "oldest last: {calls:?}"
    );
    let newest_first: Vec<&Value> = calls.iter().rev().collect();
    assert_eq!(newest_first[0]["order_id"], "LOG-1");
    assert_eq!(newest_first[0]["token"], "tests");
    assert!(newest_first[0]["outcome"]
        .as_str()
        .unwrap()
        .starts_with("counted"));
    let invalid = newest_first[1]["outcome"].as_str().unwrap();
    assert!(
        invalid.contains("payment_method: \"cheque\" is not a payment method"),
        "{invalid}"
    );
    assert!(
        invalid.contains("email: is not a valid email address"),
        "{invalid}"
    );
    assert_eq!(newest_first[2]["token"], "unknown token");
    assert_eq!(newest_first[3]["token"], "unknown token");
    assert!(newest_first[5]["outcome"]
        .as_str()
        .unwrap()
        .contains("already reported"));
    assert!(newest_first[6]["outcome"]
        .as_str()
        .unwrap()
        .contains("64 KiB"));
    let everything = serde_json::to_string(&calls).unwrap();
    assert!(!everything.contains(&token), "a token is never logged");
    assert!(!everything.contains("affdesk_wrong"), "nor a wrong one");
    assert!(!everything.contains("jane@nowhere"), "nor an email");

    let refused = logged(app, &admin, "422").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(logged(app, &admin, "4xx").await.len(), 6);
    let page = app.page(&admin, "/settings/connect?status=401").await;
    assert!(
        page.contains("unknown token") && !page.contains("LOG-1"),
        "{page}"
    );
}

async fn the_intake_log_keeps_seven_days(app: &TestApp) {
    let token = app.api_token().await;
    let admin = app.logged_in_admin().await;
    app.post_signup(&token, &card("OLD-1")).await;
    wait_for_calls(app, &admin, 1).await;
    app.clock.advance(TimeDelta::days(8));
    // A week idle ended the admin's session too.
    let admin = app.logged_in_admin().await;
    app.post_signup(&token, &card("NEW-1")).await;
    wait_until(10, "the week-old call is gone", || async {
        let calls = logged(app, &admin, "").await;
        calls.len() == 1 && calls[0]["order_id"] == "NEW-1"
    })
    .await;
}

async fn the_openapi_description_is_public_and_the_committed_one(app: &TestApp) {
    let res = app
        .bare_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let served = res.text().await.unwrap();
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/openapi.json"),
    )
    .unwrap();
    assert!(
        served == committed,
        "integrations/openapi.json is out of date: run `affdesk openapi > integrations/openapi.json`"
    );
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/signups/{order_id}/reversals"]["post"].is_object());
}

async fn the_connect_page_and_the_whmcs_module_are_for_admins_only(app: &TestApp) {
    let anonymous = app.bare_client();
    for path in ["/settings/connect", "/settings/connect/whmcs/affdesk.php"] {
        let res = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(common::location(&res).starts_with("/login"), "{path}");
    }
    let admin = app.logged_in_admin().await;
    let page = app.page(&admin, "/settings/connect").await;
    assert!(
        page.contains("href=\"/settings/api-tokens\""),
        "the token-creation link"
    );
    assert!(
        page.contains(&format!("{}/api/v1/signups", app.base)),
        "the intake URL"
    );
    let module = admin
        .get(app.url("/settings/connect/whmcs/affdesk.php"))
        .send()
        .await
        .unwrap();
    assert_eq!(module.status(), StatusCode::OK);
    assert!(module
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("affdesk.php"));
    assert!(module.text().await.unwrap().starts_with("<?php"));
    let other = admin
        .get(app.url("/settings/connect/whmcs/..%2F..%2FCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}
