//! Conversions over their whole life, on SQLite and PostgreSQL: reversals (refund, chargeback,
//! cancellation) cancel what never reached a tracker and send each link's reversal call; reply
//! rules judge what a tracker's answer means; conditions skip links and say why. The servers'
//! own delivery workers are off: each test drives the calls itself, so a call can be held open.

use crate::common::{spawn_receiver, TestApp};
use app::domain::affiliate::{AffiliateInput, DeliveryMode, SlotInput};
use app::domain::conditions::{ConditionsInput, PlanRule};
use app::domain::success::ReplyRules;
use app::server::worker::delivery::DeliveryWorker;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

on_both_backends_with!(|s| s.run_delivery_worker = false;
    a_reversal_cancels_calls_not_yet_made_and_reverses_delivered_ones,
    reversal_requests_are_idempotent_and_refused_with_every_reason,
    a_reversal_during_the_signup_call_follows_a_delivered_call,
    a_reversal_during_the_signup_call_cancels_a_failed_call_and_its_reversal,
    a_call_under_way_whose_worker_dies_is_not_sent_again_after_a_reversal,
    partial_refunds_take_back_at_most_the_sale_and_retry_now_spares_a_reversed_signup,
    partial_refunds_at_the_same_moment_never_take_back_more_than_the_sale,
    an_accepted_reversal_is_sent_after_a_restart,
    a_reversal_of_a_signup_that_did_not_count_fires_nothing,
    a_tune_style_refusal_with_status_200_fails_without_retry,
    a_redirect_is_a_failure_that_shows_where_it_pointed,
    conditions_skip_a_link_and_the_signup_says_why,
    the_signup_page_and_list_show_reversals,
);

fn card(order_id: &str) -> Value {
    json!({
        "order_id": order_id, "account_id": "100042", "user_name": "jane", "plan_id": "12",
        "plan_name": "Pro", "amount": "19.95", "full_amount": "23.74",
        "payment_method": "credit_card", "signup_time": "2026-11-22T10:15:00Z"
    })
}

fn slot(url: String, reversal_url: String) -> SlotInput {
    SlotInput {
        url,
        reversal_url,
        ..SlotInput::default()
    }
}

/// The program on with `slots` as Link 1, 2, …
async fn save(app: &TestApp, slots: Vec<SlotInput>) {
    let mut input = AffiliateInput {
        program_enabled: true,
        ..AffiliateInput::default()
    };
    for (at, slot) in input.slots.iter_mut().zip(slots) {
        *at = slot;
    }
    app.save_settings(&input).await;
}

/// A signup link and a reversal link to `base`.
fn tracked(base: &str, name: &str) -> SlotInput {
    slot(
        format!("{base}/{name}?o=${{order_id}}"),
        format!(
            "{base}/{name}-reversal?o=${{order_id}}&why=${{reversal_reason}}&amt=${{reversal_amount}}&id=${{reversal_id}}&at=${{reversal_time}}"
        ),
    )
}

async fn reverse(app: &TestApp, token: &str, order_id: &str, body: Value) -> reqwest::Response {
    app.bare_client()
        .post(app.url(&format!("/api/v1/signups/{order_id}/reversals")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// (slot, kind, state) of every delivery, oldest first.
async fn deliveries(app: &TestApp) -> Vec<(i32, String, String)> {
    const SQL: &str = "SELECT slot, kind, state FROM deliveries ORDER BY id";
    app::with_pool!(&app.state.db, pool => sqlx::query_as(SQL).fetch_all(pool).await).unwrap()
}

fn steps(answer: &Value) -> Vec<(i64, String)> {
    answer["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["link"].as_i64().unwrap(),
                l["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_reversal_cancels_calls_not_yet_made_and_reverses_delivered_ones(app: &TestApp) {
    let tracker = spawn_receiver().await;
    let untold = spawn_receiver().await;
    let mut no_reversal = tracked(&untold.base, "b");
    no_reversal.reversal_url.clear();
    save(app, vec![tracked(&tracker.base, "a"), no_reversal]).await;
    let token = app.api_token().await;
    assert_eq!(
        app.post_signup(&token, &card("A-1")).await.status(),
        StatusCode::CREATED
    );
    app.drain_deliveries().await;
    assert_eq!(
        app.post_signup(&token, &card("A-2")).await.status(),
        StatusCode::CREATED
    );

    let res = reverse(
        app,
        &token,
        "A-1",
        json!({"reason": "refund", "time": "2026-12-01T09:00:00Z"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["reversal_id"], "A-1-refund");
    assert_eq!(answer["amount"], "19.95");
    assert_eq!(answer["counted"], true);
    let a1 = steps(&answer);
    assert_eq!(a1[0], (1, "queue_reversal".to_owned()));
    assert_eq!(a1[1], (2, "nothing".to_owned()));
    assert!(answer["links"][1]["detail"]
        .as_str()
        .unwrap()
        .contains("not told"));

    let res = reverse(app, &token, "A-2", json!({"reason": "cancellation"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        steps(&answer),
        [
            (1, "cancel_signup".to_owned()),
            (2, "cancel_signup".to_owned()),
            (3, "nothing".to_owned()),
            (4, "nothing".to_owned()),
            (5, "nothing".to_owned())
        ]
    );

    app.drain_deliveries().await;
    let targets: Vec<String> = tracker.hits().into_iter().map(|h| h.target).collect();
    assert_eq!(
        targets,
        [
            "/a?o=A-1",
            "/a-reversal?o=A-1&why=refund&amt=19.95&id=A-1-refund&at=2026-12-01T09%3A00%3A00Z"
        ],
        "A-2 never reached the tracker, so nothing of it is sent"
    );
    assert_eq!(untold.hits().len(), 1, "only A-1's signup call");
    let states = deliveries(app).await;
    assert_eq!(
        states,
        [
            (1, "signup".to_owned(), "delivered".to_owned()),
            (2, "signup".to_owned(), "delivered".to_owned()),
            (1, "signup".to_owned(), "cancelled".to_owned()),
            (2, "signup".to_owned(), "cancelled".to_owned()),
            (1, "reversal".to_owned(), "delivered".to_owned()),
        ]
    );
}

async fn reversal_requests_are_idempotent_and_refused_with_every_reason(app: &TestApp) {
    let tracker = spawn_receiver().await;
    save(app, vec![tracked(&tracker.base, "a")]).await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("R-1")).await;
    app.drain_deliveries().await;
    let body = json!({"reason": "refund", "amount": "5.00", "reversal_id": "rf-1"});
    let first = reverse(app, &token, "R-1", body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = reverse(app, &token, "R-1", body).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "the first answer"
    );
    let other = reverse(
        app,
        &token,
        "R-1",
        json!({"reason": "refund", "amount": "6.00", "reversal_id": "rf-1"}),
    )
    .await;
    assert_eq!(other.status(), StatusCode::CONFLICT);
    assert!(other.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("rf-1"));

    let unknown = reverse(app, &token, "NOPE", json!({"reason": "refund"})).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("\"NOPE\""));

    let invalid = reverse(
        app,
        &token,
        "R-1",
        json!({"reason": "sorry", "amount": "99.00", "time": "soon"}),
    )
    .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = invalid.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["reason", "amount", "time"]);

    let anonymous = app
        .bare_client()
        .post(app.url("/api/v1/signups/R-1/reversals"))
        .json(&json!({"reason": "refund"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.drain_deliveries().await;
    assert_eq!(
        tracker.hits().len(),
        2,
        "one signup call and one reversal call"
    );
}

/// A tracker whose signup calls (`/s…`) wait until the test lets them answer, with the status
/// the test set; every other call is answered 200 at once.
struct GatedTracker {
    base: String,
    gate: Arc<Semaphore>,
    status: Arc<AtomicU16>,
    hits: Arc<Mutex<Vec<String>>>,
}

async fn gated_tracker() -> GatedTracker {
    use axum::extract::Request;
    use axum::response::IntoResponse;
    let gate = Arc::new(Semaphore::new(0));
    let status = Arc::new(AtomicU16::new(200));
    let hits = Arc::new(Mutex::new(Vec::new()));
    let (g, st, h) = (gate.clone(), status.clone(), hits.clone());
    let router = axum::Router::new().fallback(move |req: Request| {
        let (gate, status, hits) = (g.clone(), st.clone(), h.clone());
        async move {
            let target = req.uri().to_string();
            drop(req);
            hits.lock().unwrap().push(target.clone());
            if target.starts_with("/s?") {
                gate.acquire().await.unwrap().forget();
            }
            let code = axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap();
            (code, "ok").into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    GatedTracker {
        base,
        gate,
        status,
        hits,
    }
}

/// Reports signup `order_id` to a gated tracker, starts its call, and reports a reversal for
/// `reason` while the call is under way. Returns the tracker, the worker's task and the
/// reversal's answer (a 201).
async fn reverse_during_call(
    app: &TestApp,
    order_id: &str,
    reason: &str,
) -> (GatedTracker, tokio::task::JoinHandle<usize>, Value) {
    let tracker = gated_tracker().await;
    save(app, vec![tracked(&tracker.base, "s")]).await;
    let token = app.api_token().await;
    app.post_signup(&token, &card(order_id)).await;
    let worker = DeliveryWorker::new(app.state.delivery_context(), Default::default());
    let call = tokio::spawn(async move { worker.run_once().await });
    crate::common::wait_until(10, "the signup call reaches the tracker", || {
        let hits = tracker.hits.clone();
        async move { !hits.lock().unwrap().is_empty() }
    })
    .await;
    let res = reverse(app, &token, order_id, json!({ "reason": reason })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    (tracker, call, res.json().await.unwrap())
}

/// Starts the signup call, reverses while it is under way, then lets it answer `status`.
/// Returns the reversal's answer once the call and whatever it released have been tried.
async fn reverse_mid_call(app: &TestApp, status: u16) -> (Value, GatedTracker) {
    let (tracker, call, answer) = reverse_during_call(app, "M-1", "chargeback").await;
    tracker.status.store(status, Ordering::SeqCst);
    tracker.gate.add_permits(1);
    call.await.unwrap();
    app.drain_deliveries().await;
    (answer, tracker)
}

async fn a_reversal_during_the_signup_call_follows_a_delivered_call(app: &TestApp) {
    let (answer, tracker) = reverse_mid_call(app, 200).await;
    assert_eq!(answer["links"][0]["action"], "after_call");
    assert_eq!(answer["links"][0]["reverse"], true);
    let hits = tracker.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0], "/s?o=M-1");
    assert!(hits[1].starts_with("/s-reversal?o=M-1&why=chargeback&amt=19.95&id=M-1-chargeback"));
    assert_eq!(
        deliveries(app).await,
        [
            (1, "signup".to_owned(), "delivered".to_owned()),
            (1, "reversal".to_owned(), "delivered".to_owned()),
        ]
    );
}

async fn a_reversal_during_the_signup_call_cancels_a_failed_call_and_its_reversal(app: &TestApp) {
    let (_, tracker) = reverse_mid_call(app, 503).await;
    assert_eq!(
        tracker.hits.lock().unwrap().clone(),
        ["/s?o=M-1"],
        "no retry of the signup call and no reversal call"
    );
    assert_eq!(
        deliveries(app).await,
        [
            (1, "signup".to_owned(), "cancelled".to_owned()),
            (1, "reversal".to_owned(), "cancelled".to_owned()),
        ]
    );
}

async fn a_call_under_way_whose_worker_dies_is_not_sent_again_after_a_reversal(app: &TestApp) {
    let (tracker, call, _) = reverse_during_call(app, "W-1", "refund").await;
    // The worker dies mid-call; once its lease has run out the delivery is claimed again.
    call.abort();
    app.clock.advance(chrono::TimeDelta::minutes(5));
    tracker.gate.add_permits(10);
    app.drain_deliveries().await;
    assert_eq!(
        tracker.hits.lock().unwrap().len(),
        1,
        "the signup call is not sent again"
    );
    assert_eq!(
        deliveries(app).await,
        [
            (1, "signup".to_owned(), "cancelled".to_owned()),
            (1, "reversal".to_owned(), "cancelled".to_owned()),
        ]
    );
}

async fn partial_refunds_take_back_at_most_the_sale_and_retry_now_spares_a_reversed_signup(
    app: &TestApp,
) {
    let tracker = spawn_receiver().await;
    save(app, vec![tracked(&tracker.base, "a")]).await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("P-9")).await;
    app.drain_deliveries().await;
    let first = reverse(
        app,
        &token,
        "P-9",
        json!({"reason": "refund", "amount": "15.00", "reversal_id": "r1"}),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let too_much = reverse(
        app,
        &token,
        "P-9",
        json!({"reason": "refund", "amount": "5.00", "reversal_id": "r2"}),
    )
    .await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = too_much.json().await.unwrap();
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("4.95"),
        "{problem}"
    );
    let rest = reverse(app, &token, "P-9", json!({"reason": "cancellation"})).await;
    assert_eq!(
        rest.json::<Value>().await.unwrap()["amount"],
        "4.95",
        "what remains"
    );

    // A signup call that failed for good is not retried by hand once the signup is reversed.
    app.post_signup(&token, &card("P-10")).await;
    const FAIL: &str =
        "UPDATE deliveries SET state = 'failed' WHERE kind = 'signup' AND state = 'pending'";
    app::with_pool!(&app.state.db, pool => sqlx::query(FAIL).execute(pool).await.map(|_| ()))
        .unwrap();
    reverse(app, &token, "P-10", json!({"reason": "refund"})).await;
    let id: i64 = app::with_pool!(&app.state.db, pool => sqlx::query_scalar(
        "SELECT d.id FROM deliveries d JOIN signups s ON s.id = d.signup_id WHERE s.order_id = 'P-10'"
    ).fetch_one(pool).await).unwrap();
    let admin = app.logged_in_admin().await;
    let retry = app
        .call(&admin, app::api::signups::RetryDelivery { delivery_id: id })
        .await;
    assert_eq!(retry.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn partial_refunds_at_the_same_moment_never_take_back_more_than_the_sale(app: &TestApp) {
    let tracker = spawn_receiver().await;
    save(app, vec![tracked(&tracker.base, "a")]).await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("P-20")).await;
    // Six refunds of 5.00 of a 19.95 sale, sent at once: three fit, and each of the others
    // is told what remains.
    let requests = (1..=6).map(|i| {
        let request = app
            .bare_client()
            .post(app.url("/api/v1/signups/P-20/reversals"))
            .bearer_auth(&token)
            .json(&json!({"reason": "refund", "amount": "5.00", "reversal_id": format!("c{i}")}));
        tokio::spawn(async move { request.send().await.unwrap().status() })
    });
    let mut created = 0;
    for request in requests.collect::<Vec<_>>() {
        match request.await.unwrap() {
            StatusCode::CREATED => created += 1,
            status => assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY),
        }
    }
    assert_eq!(created, 3, "3 × 5.00 fit in 19.95");
    let taken = || async {
        let amounts: Vec<String> = app::with_pool!(&app.state.db, pool => sqlx::query_scalar(
            "SELECT amount FROM reversals ORDER BY id"
        ).fetch_all(pool).await)
        .unwrap();
        amounts
    };
    assert_eq!(taken().await, vec!["5.00"; 3]);

    // Deterministically: a reversal settled before another was stored is refused by the
    // transaction, which sees the new total, and stores nothing (the service settles again).
    use app::server::storage::reversals::{self, NewReversal, ReversalOutcome};
    let signup = reversals::find_signup(&app.state.db, "P-20")
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let body = json!({"reason": "refund", "amount": "1.00", "reversal_id": "late"});
    let reversal = app::domain::reversal::parse_reversal(&body, "P-20", "19.95", now).unwrap();
    let stale = NewReversal {
        signup: &signup,
        order_id: "P-20",
        reversal: &reversal,
        request_hash: "h",
        calls: vec![None; 5],
        now,
        earlier_cents: 1000,
    };
    let outcome = reversals::record(&app.state.db, stale).await.unwrap();
    assert!(matches!(outcome, ReversalOutcome::Stale));
    assert_eq!(taken().await.len(), 3);
}

async fn an_accepted_reversal_is_sent_after_a_restart(app: &TestApp) {
    let tracker = spawn_receiver().await;
    save(app, vec![tracked(&tracker.base, "a")]).await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("C-1")).await;
    app.drain_deliveries().await;
    let res = reverse(app, &token, "C-1", json!({"reason": "refund"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // This server's worker is off, as if affdesk stopped right after its 201: a restarted
    // server finds the reversal call in the database and sends it.
    let restarted = app.another_on_same_database(|_| {}).await;
    crate::common::wait_until(10, "the restarted server sends the reversal", || {
        let n = tracker.hits().len();
        async move { n == 2 }
    })
    .await;
    assert!(tracker.hits()[1]
        .target
        .starts_with("/a-reversal?o=C-1&why=refund"));
    restarted.cleanup().await;
}

async fn a_reversal_of_a_signup_that_did_not_count_fires_nothing(app: &TestApp) {
    let tracker = spawn_receiver().await;
    save(app, vec![tracked(&tracker.base, "a")]).await;
    let token = app.api_token().await;
    let mut paypal = card("P-1");
    paypal["payment_method"] = json!("paypal");
    paypal["moderated"] = json!(true);
    app.post_signup(&token, &paypal).await;
    let res = reverse(app, &token, "P-1", json!({"reason": "refund"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["counted"], false);
    assert!(
        answer["summary"]
            .as_str()
            .unwrap()
            .contains("did not count"),
        "{answer}"
    );
    assert_eq!(answer["links"], json!([]));
    app.drain_deliveries().await;
    assert!(tracker.hits().is_empty());
}

/// A tracker that answers every call with `status`, `body` and, when given, a `Location`.
async fn answering(status: u16, body: &'static str, location: Option<&'static str>) -> String {
    use axum::response::IntoResponse;
    let router = axum::Router::new().fallback(move || async move {
        let mut res = (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response();
        if let Some(to) = location {
            res.headers_mut().insert("location", to.parse().unwrap());
        }
        res
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// (state, tries, last error) of the only delivery.
async fn only_delivery(app: &TestApp) -> (String, i32, String) {
    const SQL: &str = "SELECT state, tries, last_error FROM deliveries";
    let (state, tries, error): (String, i32, Option<String>) =
        app::with_pool!(&app.state.db, pool => sqlx::query_as(SQL).fetch_one(pool).await).unwrap();
    (state, tries, error.unwrap_or_default())
}

async fn a_tune_style_refusal_with_status_200_fails_without_retry(app: &TestApp) {
    let base = answering(200, "success=false; err_msg=Invalid offer", None).await;
    let mut link = slot(
        format!("{base}/aff_lsr?transaction_id=${{order_id}}"),
        String::new(),
    );
    link.rules = ReplyRules {
        contains: "success=true".into(),
        not_contains: String::new(),
    };
    save(app, vec![link]).await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("T-1")).await;
    app.drain_deliveries().await;
    let (state, tries, error) = only_delivery(app).await;
    assert_eq!(
        (state.as_str(), tries),
        ("failed", 1),
        "refused, not retried"
    );
    assert!(
        error.contains("does not contain \"success=true\""),
        "{error}"
    );
    assert!(error.contains("err_msg=Invalid offer"), "{error}");
    let admin = app.logged_in_admin().await;
    let page = app.page(&admin, "/signups/1").await;
    assert!(
        page.contains("err_msg=Invalid offer"),
        "the attempt log shows the reply"
    );
}

async fn a_redirect_is_a_failure_that_shows_where_it_pointed(app: &TestApp) {
    let base = answering(302, "", Some("https://moved.example/postback")).await;
    save(
        app,
        vec![slot(format!("{base}/p?o=${{order_id}}"), String::new())],
    )
    .await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("D-1")).await;
    app.drain_deliveries().await;
    let (state, tries, error) = only_delivery(app).await;
    assert_eq!((state.as_str(), tries), ("failed", 1));
    assert!(error.contains("https://moved.example/postback"), "{error}");
}

async fn conditions_skip_a_link_and_the_signup_says_why(app: &TestApp) {
    let tracker = spawn_receiver().await;
    let mut only_7_8 = tracked(&tracker.base, "a");
    only_7_8.conditions = ConditionsInput {
        plan_rule: PlanRule::Only,
        plans: "7, 8".into(),
        ..ConditionsInput::default()
    };
    let mut at_least_50 = tracked(&tracker.base, "b");
    at_least_50.mode = DeliveryMode::BrowserPixel;
    at_least_50.conditions.min_amount = "50".into();
    let everyone = tracked(&tracker.base, "c");
    save(app, vec![only_7_8, at_least_50, everyone]).await;
    let token = app.api_token().await;
    let res = app.post_signup(&token, &card("K-1")).await;
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer["skipped"],
        json!([
            "link 1: plan \"12\" is not one of 7, 8",
            "link 2: the amount 19.95 is below the minimum of 50.00"
        ])
    );
    assert_eq!(answer["pixels"], json!([]));
    assert_eq!(answer["deliveries"].as_array().unwrap().len(), 1);
    app.drain_deliveries().await;
    assert_eq!(tracker.hits()[0].target, "/c?o=K-1");
    let admin = app.logged_in_admin().await;
    let page = app.page(&admin, "/signups/1").await;
    assert!(
        page.contains("link 1: plan &quot;12&quot; is not one of 7, 8")
            || page.contains("link 1: plan \"12\" is not one of 7, 8"),
        "{page}"
    );
}

async fn the_signup_page_and_list_show_reversals(app: &TestApp) {
    let tracker = spawn_receiver().await;
    save(app, vec![tracked(&tracker.base, "a")]).await;
    let token = app.api_token().await;
    app.post_signup(&token, &card("L-1")).await;
    app.post_signup(&token, &card("L-2")).await;
    app.drain_deliveries().await;
    reverse(
        app,
        &token,
        "L-1",
        json!({"reason": "chargeback", "amount": "10.00"}),
    )
    .await;
    app.drain_deliveries().await;
    let admin = app.logged_in_admin().await;
    let page = app.page(&admin, "/signups/1").await;
    assert!(page.contains("Chargeback of 10.00"), "{page}");
    assert!(page.contains("Link 1: reversal call queued"), "{page}");
    assert!(
        page.contains("Link 1 · reversal"),
        "the reversal delivery with its attempts"
    );
    let list = app.page(&admin, "/signups?delivery=reversed").await;
    assert!(list.contains("L-1") && !list.contains("L-2"), "{list}");
}
