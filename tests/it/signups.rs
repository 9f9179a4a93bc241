//! Signup intake and server-to-server delivery over HTTP, with local receivers standing in for
//! affiliate trackers, on SQLite and PostgreSQL. Time is moved by hand; nothing sleeps for a
//! retry.

use crate::common::{self, spawn_receiver, spawn_scripted_receiver, wait_until, TestApp};
use app::api::signups::{
    CreateToken, LinkHealth, ListSignups, ListTokens, RetryDelivery, RevokeToken,
};
use app::domain::affiliate::DeliveryMode::{BrowserPixel, ServerToServer};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_card_signup_with_three_server_links_sends_three_encoded_gets,
    pixel_links_come_back_in_the_snippet_and_on_the_signup_complete_page,
    a_moderated_paypal_signup_fires_nothing,
    nothing_fires_while_the_program_is_off,
    the_same_order_again_gets_the_original_answer_and_a_different_body_409,
    a_burst_with_repeats_stores_each_order_once_and_answers_every_request,
    a_signup_the_database_refuses_does_not_fail_the_others_stored_with_it,
    invalid_fields_get_422_with_every_error,
    intake_refuses_missing_tokens_large_bodies_and_other_content_types,
    a_receiver_failing_twice_is_delivered_on_the_third_attempt,
    a_404_fails_without_retry,
    a_hanging_receiver_times_out_and_is_retried,
    deliveries_pending_at_shutdown_are_delivered_after_restart,
    two_servers_on_one_database_send_each_delivery_once,
    the_signups_list_filters_searches_and_pages,
    retry_now_sends_a_failed_delivery_again,
    api_tokens_are_created_listed_and_revoked_by_admins,
    a_link_failing_for_a_day_is_counted_and_warned_about,
);

fn card(order_id: &str) -> Value {
    json!({
        "order_id": order_id, "account_id": "100042", "user_name": "jane doe", "domain": "jane.example",
        "plan_id": "7", "plan_name": "Business & Pro", "amount": "19.95", "full_amount": "23.74",
        "payment_method": "credit_card", "moderated": false, "trial": false,
        "click_id": "aff/1?x=y", "email": "jane+h@example.com", "signup_time": "2026-11-22T10:15:00Z"
    })
}

async fn all_delivered(app: &TestApp, expected: usize) -> bool {
    let d = app.deliveries().await;
    d.len() == expected && d.iter().all(|(_, state, _)| state == "delivered")
}

async fn a_card_signup_with_three_server_links_sends_three_encoded_gets(app: &TestApp) {
    let receiver = spawn_receiver().await;
    let base = receiver.base.clone();
    app.set_links(
        true,
        &[
            (&format!("{base}/a?amount=${{amount}}&aid=${{account_id}}"), ServerToServer),
            (&format!("{base}/b/${{user_name}}?plan=${{plan_name}}&type=${{signup_type}}"), ServerToServer),
            (&format!("{base}/c?click=${{click_id}}&email=${{email}}&at=${{signup_time}}&o=${{order_id}}"), ServerToServer),
        ],
    )
    .await;
    let token = app.api_token().await;
    let res = app.post_signup(&token, &card("ORD-1")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["eligible"], true);
    assert_eq!(
        answer["reason"],
        "non-moderated credit-card signup: counts as a sale"
    );
    assert_eq!(answer["deliveries"].as_array().unwrap().len(), 3);

    wait_until(10, "three deliveries are delivered", || {
        all_delivered(app, 3)
    })
    .await;
    let mut targets: Vec<String> = receiver.hits().iter().map(|h| h.target.clone()).collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            "/a?amount=19.95&aid=100042",
            "/b/jane%20doe?plan=Business%20%26%20Pro&type=card",
            "/c?click=aff%2F1%3Fx%3Dy&email=jane%2Bh%40example.com&at=2026-11-22T10%3A15%3A00Z&o=ORD-1",
        ]
    );
    for hit in receiver.hits() {
        assert!(hit.user_agent.starts_with("affdesk/"));
        assert!(
            hit.idempotency_key.parse::<i64>().is_ok(),
            "Idempotency-Key is the delivery id"
        );
    }
}

async fn pixel_links_come_back_in_the_snippet_and_on_the_signup_complete_page(app: &TestApp) {
    app.set_links(
        true,
        &[
            (
                "https://pixel.example/p.gif?o=${order_id}&a=${amount}",
                BrowserPixel,
            ),
            ("https://other.example/t?x=${plan_name}", BrowserPixel),
        ],
    )
    .await;
    let token = app.api_token().await;
    let res = app.post_signup(&token, &card("ORD-PX")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer["deliveries"],
        json!([]),
        "pixels are not server deliveries"
    );
    assert_eq!(
        answer["pixels"],
        json!([
            "https://pixel.example/p.gif?o=ORD-PX&a=19.95",
            "https://other.example/t?x=Business%20%26%20Pro"
        ])
    );
    assert_eq!(
        answer["pixel_html"],
        "<img src=\"https://pixel.example/p.gif?o=ORD-PX&amp;a=19.95\" width=\"1\" height=\"1\" alt=\"\">\n\
         <img src=\"https://other.example/t?x=Business%20%26%20Pro\" width=\"1\" height=\"1\" alt=\"\">"
    );
    let complete = answer["complete_url"].as_str().unwrap().to_owned();
    let token_part = complete.rsplit('/').next().unwrap();
    assert_eq!(token_part.len(), 32, "128 random bits");
    let logs = common::LogCapture::start();
    let page = app.bare_client().get(&complete).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "no login needed");
    let logged = logs.text();
    assert!(
        logged.contains("/signup/complete/…"),
        "the request was logged"
    );
    assert!(
        !logged.contains(token_part),
        "the page's token is in the log"
    );
    drop(logs);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src https://pixel.example https://other.example"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Thank you!"));
    assert!(html.contains("<img src=\"https://pixel.example/p.gif?o=ORD-PX&amp;a=19.95\" width=\"1\" height=\"1\" alt=\"\">"));

    app.clock.advance(TimeDelta::hours(25));
    let expired = app.bare_client().get(&complete).send().await.unwrap();
    assert_eq!(
        expired.status(),
        StatusCode::NOT_FOUND,
        "the page expires after 24 hours"
    );
}

async fn a_moderated_paypal_signup_fires_nothing(app: &TestApp) {
    let receiver = spawn_receiver().await;
    app.set_one_server_link(&receiver.base).await;
    let token = app.api_token().await;
    let mut body = card("ORD-PP");
    body["payment_method"] = json!("paypal");
    body["moderated"] = json!(true);
    let res = app.post_signup(&token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["eligible"], false);
    assert_eq!(
        answer["reason"],
        "moderated PayPal signup: affiliate programs only count non-moderated signups"
    );
    assert_eq!(answer["deliveries"], json!([]));
    assert!(app.deliveries().await.is_empty());
}

async fn nothing_fires_while_the_program_is_off(app: &TestApp) {
    app.set_links(
        false,
        &[("https://t.example/s?o=${order_id}", ServerToServer)],
    )
    .await;
    let token = app.api_token().await;
    let answer: Value = app
        .post_signup(&token, &card("ORD-OFF"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["eligible"], false);
    assert!(answer["reason"].as_str().unwrap().contains("switched off"));
    assert!(app.deliveries().await.is_empty());
}

async fn the_same_order_again_gets_the_original_answer_and_a_different_body_409(app: &TestApp) {
    app.set_links(
        true,
        &[("https://t.example/s?o=${order_id}", ServerToServer)],
    )
    .await;
    let token = app.api_token().await;
    let first = app.post_signup(&token, &card("ORD-R")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = app.post_signup(&token, &card("ORD-R")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.deliveries().await.len(), 1, "nothing new created");
    let mut different = card("ORD-R");
    different["amount"] = json!("99.00");
    let conflict = app.post_signup(&token, &different).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert!(conflict
        .text()
        .await
        .unwrap()
        .contains("already reported with different values"));
}

/// Signups arriving together are stored several to a transaction; every request still gets its
/// own answer. Each order is posted twice with one body and once with another, all at once: one
/// of the three is stored (201), a post with the stored body gets the stored answer (200), the
/// other body 409, and each stored order has its own deliveries.
async fn a_burst_with_repeats_stores_each_order_once_and_answers_every_request(app: &TestApp) {
    const ORDERS: usize = 30;
    app.set_links(
        true,
        &[
            ("https://t.example/s?o=${order_id}", ServerToServer),
            ("https://t.example/u?a=${amount}", ServerToServer),
        ],
    )
    .await;
    let token = app.api_token().await;
    let mut posts = tokio::task::JoinSet::new();
    for order in 0..ORDERS {
        let same = card(&format!("ORD-B{order}"));
        let mut other = same.clone();
        other["amount"] = json!("42.00");
        for (copy, body) in [(0, same.clone()), (1, same), (2, other)] {
            let post = app.signup_post(&token, &body);
            posts.spawn(async move {
                let res = post.await;
                let status = res.status();
                let answer: Value = res.json().await.unwrap();
                (order, copy, status, answer)
            });
        }
    }
    let mut per_order: Vec<Vec<(usize, StatusCode, Value)>> = vec![Vec::new(); ORDERS];
    while let Some(done) = posts.join_next().await {
        let (order, copy, status, answer) = done.unwrap();
        per_order[order].push((copy, status, answer));
    }

    let mut delivery_ids = std::collections::HashSet::new();
    for (order, answers) in per_order.iter().enumerate() {
        let created: Vec<_> = answers
            .iter()
            .filter(|(_, s, _)| *s == StatusCode::CREATED)
            .collect();
        assert_eq!(
            created.len(),
            1,
            "order {order}: one post is stored: {answers:?}"
        );
        let (winner, _, stored) = created[0];
        let stored_body = if *winner == 2 { 2 } else { 0 };
        assert_eq!(stored["order_id"], format!("ORD-B{order}"));
        let deliveries = stored["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 2, "order {order}: {stored}");
        for d in deliveries {
            assert!(
                delivery_ids.insert(d["id"].as_i64().unwrap()),
                "a delivery belongs to one signup"
            );
        }
        let amount = if stored_body == 2 { "42.00" } else { "19.95" };
        assert_eq!(
            deliveries[1]["url"],
            format!("https://t.example/u?a={amount}")
        );
        for (copy, status, answer) in answers.iter().filter(|(c, _, _)| c != winner) {
            let same_body = (*copy == 2) == (stored_body == 2);
            if same_body {
                assert_eq!(
                    *status,
                    StatusCode::OK,
                    "order {order} copy {copy}: {answer}"
                );
                assert_eq!(answer, stored, "a repeat gets the stored answer");
            } else {
                assert_eq!(
                    *status,
                    StatusCode::CONFLICT,
                    "order {order} copy {copy}: {answer}"
                );
            }
        }
    }
    assert_eq!(
        app.deliveries().await.len(),
        ORDERS * 2,
        "no delivery stored twice"
    );
    const COUNT: &str = "SELECT COUNT(*) FROM signups";
    let signups: i64 =
        app::with_pool!(&app.state.db, pool => sqlx::query_scalar(COUNT).fetch_one(pool).await)
            .unwrap();
    assert_eq!(signups, ORDERS as i64);
}

/// A group of signups is one transaction; if the database refuses one signup of the group, the
/// others are stored alone and answered 201, and only the refused one gets 500 (to send again).
async fn a_signup_the_database_refuses_does_not_fail_the_others_stored_with_it(app: &TestApp) {
    let logs = common::LogCapture::start();
    app.set_one_server_link("https://t.example").await;
    let token = app.api_token().await;
    let db = &app.state.db;
    // Order ids of this run only: the log is shared with tests running beside this one.
    let tag: u32 = rand::random();
    let orders: Vec<String> = ["G0", "G1", "BAD", "G2", "G3"]
        .iter()
        .map(|o| format!("ORD-{o}-{tag:010}"))
        .collect();
    let bad = orders[2].clone();
    // The database itself refuses one order id, as a full disk or a broken row would.
    match db {
        app::server::storage::db::Db::Sqlite(pool) => {
            sqlx::query(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON signups WHEN NEW.order_id LIKE 'ORD-BAD-%' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            )
            .execute(pool)
            .await
            .unwrap();
        }
        app::server::storage::db::Db::Postgres(pool) => {
            for sql in [
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.order_id LIKE 'ORD-BAD-%' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END $$",
                "CREATE TRIGGER refuse_one BEFORE INSERT ON signups FOR EACH ROW EXECUTE FUNCTION refuse_one()",
            ] {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
        }
    }
    // The token's first use records when it was used (a write); get that done before the lock.
    let warm_up = app
        .post_signup(&token, &card(&format!("ORD-W-{tag:010}")))
        .await;
    assert_eq!(warm_up.status(), StatusCode::CREATED);
    // Hold the write lock so that the posts queue up and are written as one group.
    let lock = match db {
        app::server::storage::db::Db::Sqlite(pool) => {
            use app::server::storage::db::BeginWrite;
            either_lock::Sqlite(pool.begin_write().await.unwrap())
        }
        app::server::storage::db::Db::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("LOCK TABLE signups IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .unwrap();
            either_lock::Postgres(tx)
        }
    };
    let mut posts = tokio::task::JoinSet::new();
    let log_text = || logs.text();
    for (i, order) in orders.iter().enumerate() {
        let (post, order) = (app.signup_post(&token, &card(order)), order.clone());
        posts.spawn(async move { (order, post.await.status()) });
        if i == 0 {
            // The first is taken by the writer alone and waits for the lock; the rest queue.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    wait_until(10, "all five signups are queued for the writer", || {
        let queued = orders
            .iter()
            .all(|o| log_text().contains(&format!("order_id={o}")));
        async move { queued }
    })
    .await;
    match lock {
        either_lock::Sqlite(tx) => tx.rollback().await.unwrap(),
        either_lock::Postgres(tx) => tx.rollback().await.unwrap(),
    }
    let mut statuses = Vec::new();
    while let Some(done) = posts.join_next().await {
        statuses.push(done.unwrap());
    }
    for (order, status) in &statuses {
        let expected = if *order == bad {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::CREATED
        };
        assert_eq!(*status, expected, "{order}: {statuses:?}");
    }
    assert_eq!(statuses.len(), 5);
    // The refused signup was written in a group with others, and the group was retried alone.
    let fallback = log_text()
        .lines()
        .any(|l| l.contains("storing each alone") && l.contains(&bad));
    assert!(fallback, "the refused signup was part of a group");
    assert_eq!(
        app.deliveries().await.len(),
        5,
        "one delivery per stored signup"
    );
}

mod either_lock {
    pub enum Lock {
        Sqlite(app::server::storage::db::WriteTx<sqlx::Sqlite>),
        Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    }
    pub use Lock::{Postgres, Sqlite};
}

async fn invalid_fields_get_422_with_every_error(app: &TestApp) {
    let token = app.api_token().await;
    let res = app
        .post_signup(
            &token,
            &json!({"order_id": "", "amount": "1.234", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_problem(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (
            &body["status"],
            &body["error"],
            &body["detail"],
            &body["message"]
        ),
        (
            &json!(422),
            &json!("invalid"),
            &json!("the signup has invalid fields"),
            &json!("the signup has invalid fields")
        )
    );
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["order_id", "amount", "payment_method"]);
    let res = app
        .bare_client()
        .post(app.url("/api/v1/signups"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("not valid JSON"));
}

/// Refusals of the signup API are RFC 9457 problem details.
fn assert_problem(res: &reqwest::Response) {
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "a refusal of the signup API is a problem document"
    );
}

async fn intake_refuses_missing_tokens_large_bodies_and_other_content_types(app: &TestApp) {
    let token = app.api_token().await;
    let none = app
        .bare_client()
        .post(app.url("/api/v1/signups"))
        .json(&card("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_problem(&none);
    let body: Value = none.json().await.unwrap();
    assert_eq!(
        (&body["status"], &body["error"]),
        (&json!(401), &json!("unauthorized"))
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"),
        "{body}"
    );
    assert_eq!(
        app.post_signup("affd_wrong", &card("X")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let big =
        json!({"order_id": "X", "payment_method": "check", "plan_name": "x".repeat(70 * 1024)});
    assert_eq!(
        app.post_signup(&token, &big).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let form = app
        .bare_client()
        .post(app.url("/api/v1/signups"))
        .bearer_auth(&token)
        .form(&[("order_id", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A revoked token stops working.
    assert!(app::server::storage::api_tokens::revoke(
        &app.state.db,
        "tests",
        &app.audit(
            app::domain::states::AuditKind::TokenRevoked,
            "test token revoked"
        )
    )
    .await
    .unwrap());
    assert_eq!(
        app.post_signup(&token, &card("Y")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn a_receiver_failing_twice_is_delivered_on_the_third_attempt(app: &TestApp) {
    let receiver = spawn_scripted_receiver(vec![500, 500, 200]).await;
    app.set_one_server_link(&receiver.base).await;
    let token = app.api_token().await;
    assert_eq!(
        app.post_signup(&token, &card("ORD-RETRY")).await.status(),
        StatusCode::CREATED
    );
    wait_until(10, "the first attempt failed", || async {
        app.deliveries().await[0].2 == 1
    })
    .await;
    assert_eq!(app.deliveries().await[0].1, "failing");
    // The first retry is due after 1 min ±20%; the clock moves, nothing sleeps.
    app.clock.advance(TimeDelta::seconds(73));
    wait_until(10, "the second attempt failed", || async {
        app.deliveries().await[0].2 == 2
    })
    .await;
    app.clock
        .advance(TimeDelta::minutes(6) + TimeDelta::seconds(1));
    wait_until(10, "the third attempt delivered", || all_delivered(app, 1)).await;
    assert_eq!(app.deliveries().await[0].2, 3);
    assert_eq!(receiver.hits().len(), 3);
    let keys: Vec<String> = receiver
        .hits()
        .iter()
        .map(|h| h.idempotency_key.clone())
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "every try carries the same Idempotency-Key"
    );
}

async fn a_404_fails_without_retry(app: &TestApp) {
    let receiver = spawn_scripted_receiver(vec![404]).await;
    app.set_links(
        true,
        &[(&format!("{}/gone", receiver.base), ServerToServer)],
    )
    .await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("ORD-404")).await;
    wait_until(10, "the delivery failed", || async {
        app.deliveries().await[0].1 == "failed"
    })
    .await;
    app.clock.advance(TimeDelta::days(4));
    // Whatever is due four days on is tried now, before the assertions: a retry, had the 404
    // scheduled one. A retry claimed by the server's own worker instead would show in the
    // delivery's state and tries.
    assert_eq!(
        app.drain_deliveries().await,
        0,
        "nothing is due after a 404"
    );
    assert_eq!(receiver.hits().len(), 1, "a 404 is not retried");
    let deliveries = app.deliveries().await;
    assert_eq!((deliveries[0].1.as_str(), deliveries[0].2), ("failed", 1));
}

async fn a_hanging_receiver_times_out_and_is_retried(app: &TestApp) {
    let receiver = spawn_scripted_receiver(vec![0, 200]).await;
    app.set_links(
        true,
        &[(&format!("{}/slow", receiver.base), ServerToServer)],
    )
    .await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("ORD-HANG")).await;
    wait_until(30, "the hanging attempt timed out", || async {
        app.deliveries().await[0].2 == 1
    })
    .await;
    assert_eq!(app.deliveries().await[0].1, "failing");
    const SQL: &str = "SELECT error_kind FROM delivery_attempts";
    let kinds: Vec<Option<String>> =
        app::with_pool!(&app.state.db, pool => sqlx::query_scalar(SQL).fetch_all(pool).await)
            .unwrap();
    assert_eq!(kinds, [Some("timeout".to_owned())]);
    app.clock.advance(TimeDelta::minutes(2));
    wait_until(10, "the retry delivered", || all_delivered(app, 1)).await;
}

async fn deliveries_pending_at_shutdown_are_delivered_after_restart(app: &TestApp) {
    let receiver = spawn_receiver().await;
    // A first server that queues but never delivers (its worker is off), then stops.
    let mut first = app
        .another_on_same_database(|s| s.run_delivery_worker = false)
        .await;
    first.set_one_server_link(&receiver.base).await;
    let token = first.api_token().await;
    for n in 0..5 {
        assert_eq!(
            first
                .post_signup(&token, &card(&format!("ORD-{n}")))
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    first.stop().await;
    // This test's own server (worker on) picks them up. (It runs throughout, so it may already
    // have started while the first one was still stopping.)
    wait_until(10, "all five are delivered", || all_delivered(app, 5)).await;
    assert_eq!(receiver.hits().len(), 5);
}

async fn two_servers_on_one_database_send_each_delivery_once(app: &TestApp) {
    let receiver = spawn_receiver().await;
    let second = app.another_on_same_database(|_| {}).await;
    app.set_links(
        true,
        &[
            (
                &format!("{}/a?o=${{order_id}}", receiver.base),
                ServerToServer,
            ),
            (
                &format!("{}/b?o=${{order_id}}", receiver.base),
                ServerToServer,
            ),
        ],
    )
    .await;
    let token = app.api_token().await;
    for n in 0..40 {
        let target = if n % 2 == 0 { app } else { &second };
        assert_eq!(
            target
                .post_signup(&token, &card(&format!("ORD-{n}")))
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    wait_until(20, "all 80 are delivered", || all_delivered(app, 80)).await;
    let mut keys: Vec<String> = receiver
        .hits()
        .iter()
        .map(|h| h.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 80, "no delivery was sent twice");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 80);
    second.cleanup().await;
}

async fn list(
    client: &reqwest::Client,
    app: &TestApp,
    eligible: &str,
    delivery: &str,
    q: &str,
    page: i64,
) -> Value {
    let query = ListSignups {
        eligible: eligible.to_owned(),
        delivery: delivery.to_owned(),
        q: q.to_owned(),
        page,
    };
    let res = app.call(client, query).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn order_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["order_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_signups_list_filters_searches_and_pages(app: &TestApp) {
    let receiver = spawn_receiver().await;
    app.set_one_server_link(&receiver.base).await;
    let token = app.api_token().await;
    for n in 0..27 {
        let mut body = card(&format!("ORD-{n:02}"));
        body["user_name"] = json!(format!("user{n}"));
        if n % 3 == 0 {
            body["payment_method"] = json!("paypal");
            body["moderated"] = json!(true);
        }
        assert_eq!(
            app.post_signup(&token, &body).await.status(),
            StatusCode::CREATED
        );
    }
    wait_until(20, "the 18 eligible signups are delivered", || {
        all_delivered(app, 18)
    })
    .await;
    let client = app.logged_in_admin().await;

    let first = list(&client, app, "", "", "", 1).await;
    assert_eq!(first["total"], 27);
    assert_eq!(first["pages"], 2);
    assert_eq!(order_ids(&first)[0], "ORD-26", "newest first");
    assert_eq!(order_ids(&first).len(), 25);
    assert_eq!(
        order_ids(&list(&client, app, "", "", "", 2).await),
        ["ORD-01", "ORD-00"]
    );
    assert_eq!(list(&client, app, "no", "", "", 1).await["total"], 9);
    assert_eq!(
        list(&client, app, "yes", "delivered", "", 1).await["total"],
        18
    );
    assert_eq!(list(&client, app, "", "failing", "", 1).await["total"], 0);
    assert_eq!(
        order_ids(&list(&client, app, "", "", "user13", 1).await),
        ["ORD-13"]
    );
    assert_eq!(
        order_ids(&list(&client, app, "", "", "ord-2", 1).await).len(),
        7,
        "case-insensitive, partial"
    );
    // SQL metacharacters are searched for, not run.
    assert_eq!(
        list(&client, app, "", "", "%' OR 1=1 --", 1).await["total"],
        0
    );
    assert_eq!(list(&client, app, "", "", "_", 1).await["total"], 0);

    let page = app.page(&client, "/signups?eligible=no").await;
    assert!(page.contains("ORD-24") && !page.contains("ORD-25"));
    let id = first["items"][0]["id"].as_i64().unwrap();
    let detail = app.page(&client, &format!("/signups/{id}")).await;
    assert!(detail.contains("non-moderated credit-card signup: counts as a sale"));
    assert!(detail.contains("delivered"));
    assert!(detail.contains("tracked"), "the attempt's answer is shown");
}

async fn retry_now_sends_a_failed_delivery_again(app: &TestApp) {
    let receiver = spawn_scripted_receiver(vec![404, 200]).await;
    app.set_links(true, &[(&format!("{}/s", receiver.base), ServerToServer)])
        .await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("ORD-RN")).await;
    wait_until(10, "the delivery failed", || async {
        app.deliveries().await[0].1 == "failed"
    })
    .await;
    let client = app.logged_in_admin().await;
    let delivery = app.deliveries().await[0].0;
    let retry = RetryDelivery {
        delivery_id: delivery,
    };
    let res = app.call(&client, retry.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_until(10, "the retry delivered", || all_delivered(app, 1)).await;
    let again = app.call(&client, retry).await;
    assert_eq!(
        again.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a delivered delivery is not retried"
    );
    let anonymous = app
        .call(&app.client(), RetryDelivery { delivery_id: 1 })
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn api_tokens_are_created_listed_and_revoked_by_admins(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let name = "signup flow".to_owned();
    let res = app.call(&client, CreateToken { name: name.clone() }).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token: String = res.json().await.unwrap();
    assert!(token.starts_with("affd_") && token.len() > 60);
    let dup = app.call(&client, CreateToken { name: name.clone() }).await;
    assert_eq!(dup.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.post_signup(&token, &card("ORD-T")).await.status(),
        StatusCode::CREATED
    );
    let tokens: Value = app.call(&client, ListTokens {}).await.json().await.unwrap();
    assert_eq!(tokens[0]["name"], "signup flow");
    assert!(
        tokens[0]["last_used_at"].is_string(),
        "last use is recorded"
    );
    assert!(
        !tokens.to_string().contains(&token),
        "the token itself is never listed"
    );
    let res = app.call(&client, RevokeToken { name }).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.post_signup(&token, &card("ORD-T2")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    const SQL: &str = "SELECT COUNT(*) FROM api_tokens";
    let stored: i64 =
        app::with_pool!(&app.state.db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)
            .unwrap();
    assert_eq!(stored, 0);
}

async fn a_link_failing_for_a_day_is_counted_and_warned_about(app: &TestApp) {
    let bad = spawn_scripted_receiver(vec![500]).await;
    let good = spawn_receiver().await;
    app.set_links(
        true,
        &[
            (&format!("{}/bad", bad.base), ServerToServer),
            (&format!("{}/good", good.base), ServerToServer),
        ],
    )
    .await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("ORD-H1")).await;
    wait_until(10, "both links were tried", || async {
        app.deliveries()
            .await
            .iter()
            .all(|(_, _, tries)| *tries == 1)
    })
    .await;
    let client = app.logged_in_admin().await;
    let health = |client: reqwest::Client| async move {
        let res = app.call(&client, LinkHealth {}).await;
        res.json::<Value>().await.unwrap()
    };
    assert_eq!(
        health(client.clone()).await,
        json!([
            {"link": 1, "delivered": 0, "failed_tries": 1, "given_up": 0, "warning": false},
            {"link": 2, "delivered": 1, "failed_tries": 0, "given_up": 0, "warning": false}
        ])
    );
    // A day later the first link has still not succeeded while its delivery was due.
    app.clock.advance(TimeDelta::hours(25));
    // The jump also ended the idle session: log in again.
    let client = app.client();
    assert_eq!(
        common::location(&app.login(&client, "alice", common::PASSWORD).await),
        "/"
    );
    let now = health(client.clone()).await;
    assert_eq!(now[0]["warning"], true);
    assert!(
        now.as_array()
            .unwrap()
            .iter()
            .all(|h| h["link"] != 2 || h["warning"] == false),
        "the healthy link is never warned about: {now}"
    );
    let page = app.page(&client, "/settings/affiliate").await;
    assert!(page.contains("has not succeeded for 24 hours"));

    // A new address for link 1 starts with a clean record; link 2 keeps its own.
    app.set_links(
        true,
        &[
            (&format!("{}/fixed", good.base), ServerToServer),
            (&format!("{}/good", good.base), ServerToServer),
        ],
    )
    .await;
    let after = health(client.clone()).await;
    assert!(
        after.as_array().unwrap().iter().all(|h| h["link"] != 1),
        "link 1 has nothing to report after its address changed: {after}"
    );
}
