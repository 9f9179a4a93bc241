//! Alerts (Settings → Alerts), on SQLite and PostgreSQL, with a real SMTP server and a
//! recording webhook on 127.0.0.1: an incident opens after five failed calls and sends exactly
//! one email and one webhook, recovery one of each; a failing channel is retried and never holds
//! up deliveries; the quiet hour and the daily reminder; the test buttons; an alert queued
//! before a restart is sent after it.

use crate::common::mail::{spawn_smtp, spawn_webhook, SmtpServer, Webhook};
use crate::common::{spawn_scripted_receiver, wait_until, TestApp};
use app::api::alerts::{AlertsPage, SaveAlertSettings, SendTestAlert, TestAlertOutcome};
use app::model::alerts::AlertsOverview;
use app::server::clock::Clock;
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends_with!(|s| {
    s.run_delivery_worker = false;
    s.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
};
    five_failures_send_one_email_and_one_webhook_and_recovery_one_of_each,
    a_failing_channel_is_retried_and_never_holds_up_deliveries,
    an_hour_without_success_opens_an_incident_and_reminders_come_once_a_day,
    test_buttons_send_with_the_saved_settings_and_show_the_answer,
    bad_settings_are_refused_field_by_field_and_nothing_is_saved,
    an_alert_queued_before_a_restart_is_sent_after_it,
    the_admin_sets_how_many_failures_open_an_incident,
    an_incident_closes_when_its_link_stops_calling_from_the_server,
    a_delivery_given_up_and_a_success_stored_together_are_both_told,
);

const PASSWORD: &str = "smtp-pass-123";

fn settings(smtp: Option<&SmtpServer>, hook: Option<&Webhook>) -> SaveAlertSettings {
    SaveAlertSettings {
        email_enabled: smtp.map(|_| "on".to_owned()),
        smtp_host: "127.0.0.1".into(),
        smtp_port: smtp.map_or_else(String::new, |s| s.port.to_string()),
        smtp_tls: "none".into(),
        smtp_username: "alerts".into(),
        smtp_password: PASSWORD.into(),
        sender: "affdesk@example.com".into(),
        recipients: "ops@example.com\nbilling@example.com".into(),
        webhook_enabled: hook.map(|_| "on".to_owned()),
        webhook_url: hook.map_or_else(String::new, |h| h.url.clone()),
        failures_to_open: String::new(),
    }
}

async fn save(
    app: &TestApp,
    client: &reqwest::Client,
    form: SaveAlertSettings,
) -> reqwest::Response {
    app.call(client, form).await
}

async fn overview(app: &TestApp, client: &reqwest::Client) -> AlertsOverview {
    let res = app.call(client, AlertsPage {}).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Posts `n` signups (`{prefix}-1`…) and runs the deliveries due.
async fn signups(app: &TestApp, token: &str, prefix: &str, n: usize) {
    for i in 1..=n {
        let res = app
            .post_signup(
                token,
                &json!({"order_id": format!("{prefix}-{i}"), "payment_method": "credit_card"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    app.drain_deliveries().await;
}

fn subjects(smtp: &SmtpServer) -> Vec<String> {
    smtp.mails()
        .iter()
        .filter_map(|m| {
            m.data
                .lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
        })
        .collect()
}

fn events(hook: &Webhook) -> Vec<String> {
    hook.bodies()
        .iter()
        .map(|b| b["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn scrape(app: &TestApp) -> String {
    let at = app.metrics.expect("metrics are on");
    reqwest::get(format!("http://{at}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn five_failures_send_one_email_and_one_webhook_and_recovery_one_of_each(app: &TestApp) {
    let smtp = spawn_smtp().await;
    let hook = spawn_webhook(vec![200]).await;
    // Seven refusals, then the tracker accepts.
    let tracker = spawn_scripted_receiver(vec![500, 500, 500, 500, 500, 500, 500, 200]).await;
    app.set_one_server_link(&tracker.base).await;
    let client = app.logged_in_admin().await;
    crate::common::assert_accepted(&save(app, &client, settings(Some(&smtp), Some(&hook))).await);
    let token = app.api_token().await;

    signups(app, &token, "A", 4).await;
    app.drain_alerts().await;
    assert!(
        smtp.mails().is_empty() && hook.bodies().is_empty(),
        "four failures are no incident"
    );
    signups(app, &token, "B", 1).await;
    assert_eq!(app.drain_alerts().await, 2);
    assert_eq!(subjects(&smtp), vec!["[affdesk] Link 1 is failing"]);
    let mail = &smtp.mails()[0];
    assert_eq!(mail.from, "affdesk@example.com");
    assert_eq!(mail.to, vec!["ops@example.com", "billing@example.com"]);
    assert_eq!(
        mail.login,
        Some(("alerts".to_owned(), PASSWORD.to_owned())),
        "the sealed password is opened to log in"
    );
    assert!(
        mail.data
            .contains("Link 1 is failing: 5 calls in a row failed."),
        "{}",
        mail.data
    );
    let body = &hook.bodies()[0];
    assert_eq!(
        body["text"],
        "affdesk: Link 1 is failing: 5 calls in a row failed."
    );
    assert_eq!(body["incident"]["link"], 1);
    assert!(scrape(app).await.contains("affdesk_incidents_open 1"));
    let home = app.page(&client, "/").await;
    assert!(
        home.contains("Link 1 failing since") && home.contains("5 calls in a row failed"),
        "the overview shows the open incident"
    );

    // More failures while it is open: no message per call.
    signups(app, &token, "C", 2).await;
    assert_eq!(app.drain_alerts().await, 0);
    assert_eq!(hook.bodies().len(), 1);

    // The retries reach a tracker that accepts again: the incident closes, once.
    app.clock.advance(TimeDelta::minutes(2));
    app.drain_deliveries().await;
    assert_eq!(app.drain_alerts().await, 2);
    assert_eq!(
        subjects(&smtp),
        vec![
            "[affdesk] Link 1 is failing",
            "[affdesk] Link 1 delivers again"
        ]
    );
    assert_eq!(events(&hook), vec!["opened", "closed"]);
    assert_eq!(
        hook.bodies()[1]["incident"]["id"],
        hook.bodies()[0]["incident"]["id"]
    );
    assert!(scrape(app).await.contains("affdesk_incidents_open 0"));

    let page = overview(app, &client).await;
    assert_eq!(page.incidents.len(), 1);
    assert!(page.incidents[0].closed.is_some());
    assert_eq!(page.history.len(), 4);
    assert!(
        page.history.iter().all(|h| h.state == "delivered"),
        "{:?}",
        page.history
    );
    assert!(page
        .history
        .iter()
        .any(|h| h.answer.starts_with("250 2.0.0 Ok: queued as")));
    let html = app.page(&client, "/settings/alerts").await;
    assert!(html.contains("Link 1 delivers again") && !html.contains(PASSWORD));
}

async fn a_failing_channel_is_retried_and_never_holds_up_deliveries(app: &TestApp) {
    let smtp = spawn_smtp().await;
    smtp.refuse_next(2);
    let hook = spawn_webhook(vec![503, 200]).await;
    let tracker = spawn_scripted_receiver(vec![500, 500, 500, 500, 500, 200]).await;
    app.set_one_server_link(&tracker.base).await;
    let client = app.logged_in_admin().await;
    save(app, &client, settings(Some(&smtp), Some(&hook))).await;
    let token = app.api_token().await;

    signups(app, &token, "F", 5).await;
    assert_eq!(app.drain_alerts().await, 2, "both tried once");
    let page = overview(app, &client).await;
    assert!(
        page.history.iter().all(|h| h.state == "failing"),
        "{:?}",
        page.history
    );
    let email = page.history.iter().find(|h| h.channel == "email").unwrap();
    assert!(email.answer.contains("451"), "{}", email.answer);
    assert!(email.next_try.is_some());
    let webhook = page
        .history
        .iter()
        .find(|h| h.channel == "webhook")
        .unwrap();
    assert!(webhook.answer.contains("503"), "{}", webhook.answer);

    // Deliveries go on while alerts fail: the retries are delivered, and the incident closes.
    app.clock.advance(TimeDelta::minutes(2));
    app.drain_deliveries().await;
    assert!(app
        .deliveries()
        .await
        .iter()
        .all(|(_, state, _)| state == "delivered"));
    // The opening alerts' second tries; the webhook's closing alert after its opening one.
    assert_eq!(app.drain_alerts().await, 3);
    assert!(
        smtp.mails().is_empty(),
        "the opening's retry was refused again"
    );
    assert_eq!(events(&hook), vec!["opened", "opened", "closed"]);
    // The email channel sends in order: the opening, then the closing waiting behind it.
    app.clock.advance(TimeDelta::minutes(7));
    assert_eq!(app.drain_alerts().await, 2);
    assert_eq!(
        subjects(&smtp),
        vec![
            "[affdesk] Link 1 is failing",
            "[affdesk] Link 1 delivers again"
        ]
    );
    let page = overview(app, &client).await;
    assert!(
        page.history.iter().all(|h| h.state == "delivered"),
        "{:?}",
        page.history
    );
    let opened_email = page
        .history
        .iter()
        .find(|h| h.channel == "email" && h.event == "opened")
        .unwrap();
    assert_eq!(opened_email.tries, 3);
    assert_eq!(app.drain_alerts().await, 0, "each alert is sent once");
}

async fn an_hour_without_success_opens_an_incident_and_reminders_come_once_a_day(app: &TestApp) {
    let hook = spawn_webhook(vec![200]).await;
    let tracker = spawn_scripted_receiver(vec![500]).await;
    app.set_one_server_link(&tracker.base).await;
    let client = app.logged_in_admin().await;
    save(app, &client, settings(None, Some(&hook))).await;
    let token = app.api_token().await;

    signups(app, &token, "Q", 1).await;
    app.clock.advance(TimeDelta::minutes(59));
    assert_eq!(app.drain_alerts().await, 0);
    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(app.drain_alerts().await, 1);
    let text = hook.bodies()[0]["text"].as_str().unwrap().to_owned();
    assert!(text.contains("no call has succeeded since"), "{text}");

    app.clock.advance(TimeDelta::hours(23));
    assert_eq!(app.drain_alerts().await, 0, "no reminder within a day");
    app.clock.advance(TimeDelta::hours(2));
    assert_eq!(app.drain_alerts().await, 1);
    assert_eq!(events(&hook), vec!["opened", "reminder"]);
    assert_eq!(app.drain_alerts().await, 0);
}

async fn send_test(app: &TestApp, client: &reqwest::Client, channel: &str) -> reqwest::Response {
    app.call(
        client,
        SendTestAlert {
            channel: channel.into(),
        },
    )
    .await
}

async fn test_buttons_send_with_the_saved_settings_and_show_the_answer(app: &TestApp) {
    let smtp = spawn_smtp().await;
    let hook = spawn_webhook(vec![200]).await;
    let client = app.logged_in_admin().await;

    let off = send_test(app, &client, "email").await;
    assert_eq!(off.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(off.text().await.unwrap().contains("switched off"));

    save(app, &client, settings(Some(&smtp), Some(&hook))).await;
    let res = send_test(app, &client, "email").await;
    crate::common::assert_accepted(&res);
    let outcome: TestAlertOutcome = res.json().await.unwrap();
    assert!(outcome.sent, "{outcome:?}");
    assert!(
        outcome.answer.starts_with("250 2.0.0 Ok: queued as TEST1"),
        "{}",
        outcome.answer
    );
    assert_eq!(subjects(&smtp), vec!["[affdesk] Test alert"]);
    assert!(smtp.mails()[0].data.contains("sent by alice"));

    let outcome: TestAlertOutcome = send_test(app, &client, "webhook")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        outcome.sent && outcome.answer.starts_with("HTTP 200"),
        "{outcome:?}"
    );
    assert_eq!(events(&hook), vec!["test"]);

    // A refused test says so, is kept in the history, and is not retried.
    smtp.refuse_next(1);
    let outcome: TestAlertOutcome = send_test(app, &client, "email").await.json().await.unwrap();
    assert!(!outcome.sent);
    assert!(outcome.answer.contains("451"), "{}", outcome.answer);
    app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(app.drain_alerts().await, 0);
    let page = overview(app, &client).await;
    let states: Vec<&str> = page.history.iter().map(|h| h.state.as_str()).collect();
    assert_eq!(states, vec!["failed", "delivered", "delivered"]);
    // The page shows a test's answer from its history entry (the address a plain form lands on).
    let html = app
        .page(
            &client,
            &format!("/settings/alerts?test={}", outcome.alert_id),
        )
        .await;
    assert!(html.contains("not sent") && html.contains("451"), "{html}");
}

async fn bad_settings_are_refused_field_by_field_and_nothing_is_saved(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let mut form = settings(None, None);
    form.email_enabled = Some("on".into());
    form.smtp_host = "mail.example.com".into();
    form.smtp_tls = "none".into();
    form.sender = "not an address".into();
    form.recipients = String::new();
    form.webhook_enabled = Some("on".into());
    form.webhook_url = "http://chat.example.com/hooks/x".into();
    form.failures_to_open = "0".into();
    let res = save(app, &client, form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    for words in [
        "None is allowed only for a mail server on this machine",
        "name@example.com",
        "at least one address",
        "use https://",
    ] {
        assert!(body.contains(words), "{words}: {body}");
    }
    let page = overview(app, &client).await;
    assert!(!page.settings.email_enabled && !page.settings.webhook_enabled);
    assert!(page.settings.smtp_host.is_empty(), "nothing was saved");

    // A saved password is kept when the field is left empty, and never shown.
    let smtp = spawn_smtp().await;
    save(app, &client, settings(Some(&smtp), None)).await;
    let mut again = settings(Some(&smtp), None);
    again.smtp_password = String::new();
    crate::common::assert_accepted(&save(app, &client, again).await);
    let page = overview(app, &client).await;
    assert!(page.settings.password_stored);
    let outcome: TestAlertOutcome = send_test(app, &client, "email").await.json().await.unwrap();
    assert!(outcome.sent, "{outcome:?}");
    assert_eq!(
        smtp.mails()[0].login.as_ref().map(|l| l.1.as_str()),
        Some(PASSWORD)
    );

    // Pointed at another server, the stored password is not kept: whoever changes the server
    // must type it, or a test would hand it to that server.
    let mut elsewhere = settings(Some(&smtp), None);
    elsewhere.smtp_host = "localhost".into();
    elsewhere.smtp_password = String::new();
    let res = save(app, &client, elsewhere).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("enter the mail server's password for alerts"));
    assert_eq!(overview(app, &client).await.settings.smtp_host, "127.0.0.1");
}

async fn an_alert_queued_before_a_restart_is_sent_after_it(app: &TestApp) {
    let hook = spawn_webhook(vec![200]).await;
    let tracker = spawn_scripted_receiver(vec![500]).await;
    app.set_one_server_link(&tracker.base).await;
    let client = app.logged_in_admin().await;
    save(app, &client, settings(None, Some(&hook))).await;
    let token = app.api_token().await;
    signups(app, &token, "R", 5).await;
    // A worker claimed the alert and died before sending it.
    let now = app.clock.now();
    let claimed =
        app::server::storage::alerts::claim(&app.state.db, now, now + TimeDelta::minutes(1), 10)
            .await
            .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(app.drain_alerts().await, 0, "its lease holds it");

    // Another process starts on the same database with its workers on; once the lease has
    // expired, it sends the alert.
    let restarted = app
        .another_on_same_database(|s| s.run_delivery_worker = true)
        .await;
    app.clock.advance(TimeDelta::minutes(2));
    restarted.state.alerts.wake();
    wait_until(20, "the restarted server sends the alert", || async {
        !hook.bodies().is_empty()
    })
    .await;
    assert_eq!(events(&hook), vec!["opened"]);
    restarted.cleanup().await;
}

async fn the_admin_sets_how_many_failures_open_an_incident(app: &TestApp) {
    let hook = spawn_webhook(vec![200]).await;
    let tracker = spawn_scripted_receiver(vec![500]).await;
    app.set_one_server_link(&tracker.base).await;
    let client = app.logged_in_admin().await;
    let mut form = settings(None, Some(&hook));
    form.failures_to_open = "2".into();
    crate::common::assert_accepted(&save(app, &client, form).await);
    assert_eq!(overview(app, &client).await.settings.failures_to_open, "2");
    let token = app.api_token().await;
    signups(app, &token, "T", 1).await;
    assert_eq!(app.drain_alerts().await, 0);
    signups(app, &token, "U", 1).await;
    assert_eq!(app.drain_alerts().await, 1);
    let text = hook.bodies()[0]["text"].as_str().unwrap().to_owned();
    assert!(text.contains("2 calls in a row failed"), "{text}");
}

async fn an_incident_closes_when_its_link_stops_calling_from_the_server(app: &TestApp) {
    let hook = spawn_webhook(vec![200]).await;
    // A refusal that is never retried: the delivery is given up at once.
    let tracker = spawn_scripted_receiver(vec![404]).await;
    app.set_one_server_link(&tracker.base).await;
    let client = app.logged_in_admin().await;
    save(app, &client, settings(None, Some(&hook))).await;
    let token = app.api_token().await;
    signups(app, &token, "G", 1).await;
    assert_eq!(app.drain_alerts().await, 1);
    assert!(hook.bodies()[0]["text"]
        .as_str()
        .unwrap()
        .contains("a delivery was given up"));
    // A day later nothing is being tried: no reminder.
    app.clock.advance(TimeDelta::hours(25));
    let client = app.logged_in_admin().await;
    assert_eq!(app.drain_alerts().await, 0);

    // The admin makes the link a browser pixel: the incident closes, and says so once.
    let pixel = format!("{}/p?o=${{order_id}}", tracker.base);
    app.set_links(
        true,
        &[(&pixel, app::domain::affiliate::DeliveryMode::BrowserPixel)],
    )
    .await;
    assert_eq!(app.drain_alerts().await, 1);
    assert_eq!(events(&hook), vec!["opened", "closed"]);
    assert!(hook.bodies()[1]["text"]
        .as_str()
        .unwrap()
        .contains("Link 1 no longer calls its tracker from the server"));
    assert_eq!(app.drain_alerts().await, 0);
    let page = overview(app, &client).await;
    assert!(page.incidents.iter().all(|i| i.closed.is_some()));
}

async fn a_delivery_given_up_and_a_success_stored_together_are_both_told(app: &TestApp) {
    use app::domain::incidents::CallEnd;
    use app::server::storage::alerts::{IncidentTx, WatchedCall};
    use app::server::storage::db::BeginWrite;
    let hook = spawn_webhook(vec![200]).await;
    let client = app.logged_in_admin().await;
    save(app, &client, settings(None, Some(&hook))).await;
    // Two calls of link 2 in one group, as the delivery worker stores them: one given up, then
    // one delivered.
    let now = app.clock.now();
    let calls = [
        WatchedCall {
            slot: 2,
            end: CallEnd::GivenUp,
            at: now - TimeDelta::seconds(1),
        },
        WatchedCall {
            slot: 2,
            end: CallEnd::Delivered,
            at: now,
        },
    ];
    app::with_pool!(&app.state.db, pool => {
        let mut tx = pool.begin_write().await.unwrap();
        (*tx).observe_calls(&calls, None).await.unwrap();
        tx.commit().await.unwrap();
    });
    assert_eq!(app.drain_alerts().await, 2);
    assert_eq!(events(&hook), vec!["opened", "closed"]);
    let bodies = hook.bodies();
    assert_eq!(bodies[0]["incident"]["id"], bodies[1]["incident"]["id"]);
    assert_eq!(bodies[1]["incident"]["link"], 2);
    assert!(bodies[1]["incident"]["reason"]
        .as_str()
        .unwrap()
        .contains("given up"));
    let page = overview(app, &client).await;
    assert_eq!(page.incidents.len(), 1);
    assert!(page.incidents[0].closed.is_some());
}
