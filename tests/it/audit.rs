//! The audit log (issue 17): every security and settings event with its time, admin, address and
//! summary, written in the change's own transaction; filtered, paginated, and kept
//! AFFDESK_AUDIT_DAYS; on SQLite and PostgreSQL.

use crate::common::{location, TestApp, PASSWORD};
use app::api::account::ChangePassword;
use app::api::affiliate::SaveAffiliateSettings;
use app::api::audit::AuditLog;
use app::api::signups::{CreateToken, RevokeToken};
use app::domain::affiliate::AffiliateInput;
use app::domain::states::AuditKind;
use app::server::clock::Clock;
use app::server::storage::audit_log;
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::Value;

async fn log(app: &TestApp, client: &reqwest::Client, kind: &str, admin: &str, page: i64) -> Value {
    let res = app
        .call(
            client,
            AuditLog {
                kind: kind.to_owned(),
                admin: admin.to_owned(),
                page,
            },
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The (kind, actor, summary) of each event on the first page, newest first.
async fn events(
    app: &TestApp,
    client: &reqwest::Client,
    kind: &str,
) -> Vec<(String, String, String)> {
    log(app, client, kind, "", 1).await["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["summary"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

on_both_backends!(
    security_and_settings_events_are_recorded_with_who_and_where,
    a_change_that_fails_records_nothing,
    the_log_is_filtered_paginated_and_kept_for_its_retention,
);

async fn security_and_settings_events_are_recorded_with_who_and_where(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    let wrong = app.client();
    app.login(&wrong, "alice", "not her password").await;
    let alice = app.client();
    assert_eq!(location(&app.login(&alice, "alice", PASSWORD).await), "/");
    let token = app
        .call(
            &alice,
            CreateToken {
                name: "billing".into(),
            },
        )
        .await;
    assert_eq!(token.status(), StatusCode::OK);
    let revoke = app
        .call(
            &alice,
            RevokeToken {
                name: "billing".into(),
            },
        )
        .await;
    assert_eq!(revoke.status(), StatusCode::OK);
    let mut input = AffiliateInput {
        program_enabled: true,
        ..AffiliateInput::default()
    };
    input.slots[1].url = "https://track.example/s?o=${order_id}".into();
    input.slots[1].enabled = true;
    let saved = app
        .call(&alice, SaveAffiliateSettings { input, version: 0 })
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let changed = app
        .call(
            &alice,
            ChangePassword {
                current_password: PASSWORD.into(),
                new_password: "another long passphrase".into(),
                confirm_password: "another long passphrase".into(),
            },
        )
        .await;
    assert!(
        changed.status().is_success() || changed.status().is_redirection(),
        "{}",
        changed.status()
    );
    alice.post(app.url("/logout")).send().await.unwrap();

    let reader = app
        .logged_in_admin_with("alice", "another long passphrase")
        .await;
    let all = events(app, &reader, "").await;
    let kinds: Vec<&str> = all.iter().rev().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "admin_created",
            "login_failed",
            "login",
            "token_created",
            "token_revoked",
            "affiliate_saved",
            "password_changed",
            "logout",
            "login"
        ],
        "{all:#?}"
    );
    let failed = all.iter().find(|(k, _, _)| k == "login_failed").unwrap();
    assert_eq!(failed.1, "alice");
    assert_eq!(failed.2, "wrong username or password");
    let saved = all.iter().find(|(k, _, _)| k == "affiliate_saved").unwrap();
    assert_eq!(saved.2, "Affiliate Program on; links on: 2");
    let page = log(app, &reader, "", "", 1).await;
    let login = &page["events"][0];
    assert_eq!(login["address"], "127.0.0.1", "{login}");
    assert_eq!(login["kind_label"], "Logged in");
    assert!(page["actors"]
        .as_array()
        .unwrap()
        .contains(&Value::from("alice")));
    // The page shows them too, without JavaScript.
    let html = app
        .page(&reader, "/settings/audit?kind=token_created")
        .await;
    assert!(
        html.contains("API token &#x27;billing&#x27; created")
            || html.contains("API token 'billing' created"),
        "{html}"
    );
    assert!(!html.contains("Failed login</td>"), "the filter applies");
}

async fn a_change_that_fails_records_nothing(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    let first = app
        .call(
            &alice,
            CreateToken {
                name: "billing".into(),
            },
        )
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let taken = app
        .call(
            &alice,
            CreateToken {
                name: "billing".into(),
            },
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stale = app
        .call(
            &alice,
            SaveAffiliateSettings {
                input: AffiliateInput::default(),
                version: 41,
            },
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let unknown = app
        .call(
            &alice,
            RevokeToken {
                name: "nope".into(),
            },
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let kinds: Vec<String> = events(app, &alice, "")
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "token_created").count(),
        1,
        "{kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|k| k == "affiliate_saved" || k == "token_revoked"),
        "{kinds:?}"
    );
}

async fn the_log_is_filtered_paginated_and_kept_for_its_retention(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    let db = &app.state.db;
    let now = app.clock.now();
    for i in 0..120 {
        let event = app.audit(
            AuditKind::DeliveryRetried,
            &format!("delivery {i} retried by hand"),
        );
        audit_log::record(db, &event).await.unwrap();
    }
    let old = audit_log::Actor {
        name: "bob".to_owned(),
        address: "203.0.113.9".to_owned(),
    }
    .event(AuditKind::Logout, "logged out", now - TimeDelta::days(400));
    audit_log::record(db, &old).await.unwrap();

    let first = log(app, &alice, "delivery_retried", "", 1).await;
    assert_eq!(first["events"].as_array().unwrap().len(), 50);
    assert_eq!(first["more"], true);
    let last = log(app, &alice, "delivery_retried", "", 3).await;
    assert_eq!(last["events"].as_array().unwrap().len(), 20);
    assert_eq!(last["more"], false);
    let bobs = log(app, &alice, "", "bob", 1).await;
    assert_eq!(bobs["events"].as_array().unwrap().len(), 1);
    assert_eq!(bobs["events"][0]["address"], "203.0.113.9");
    let bad = app
        .call(
            &alice,
            AuditLog {
                kind: "everything".into(),
                admin: String::new(),
                page: 1,
            },
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let gone = audit_log::forget_older_than(db, TimeDelta::days(365), now)
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert!(log(app, &alice, "", "bob", 1).await["events"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        log(app, &alice, "delivery_retried", "", 3).await["events"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
}
