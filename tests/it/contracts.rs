//! Explodely affiliate referral contracts against a local stand-in for the Explodely API, on
//! SQLite and PostgreSQL: the exact request, every reply where it belongs, nothing stored as
//! created on failure, one call per form, and the API key kept out of every stored row.

use crate::common::{self, spawn_explodely, Explodely, LogCapture, TestApp};
use app::api::contracts::{
    CreateContract, ExplodelySettings, ListContracts, SaveExplodelySettings,
};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

const API_KEY: &str = "EXPL-secret-key-9876";

async fn with_mock(
    app: &TestApp,
    script: Vec<(u16, &'static str, u64)>,
) -> (TestApp, Explodely, reqwest::Client) {
    let mock = spawn_explodely(script).await;
    let url = mock.url.clone();
    let server = app
        .another_on_same_database(move |s| {
            s.explodely_url = url;
            s.explodely_timeout = Duration::from_secs(1);
        })
        .await;
    let client = server.logged_in_admin().await;
    let res = server.call(&client, credentials("seller1", API_KEY)).await;
    common::assert_accepted(&res);
    (server, mock, client)
}

/// The arguments of `save_explodely_settings`.
fn credentials(username: &str, api_key: &str) -> SaveExplodelySettings {
    SaveExplodelySettings {
        username: username.to_owned(),
        api_key: api_key.to_owned(),
    }
}

/// The contract form with only what it requires, as a browser posts it: mutual termination
/// ticked, not activated.
fn minimal(key: &str) -> CreateContract {
    CreateContract {
        contract_name: "Reseller 2026".to_owned(),
        partner_username: "partner42".to_owned(),
        product_choice: "all".to_owned(),
        product_id: String::new(),
        commission: "25".to_owned(),
        start_date: String::new(),
        end_date: String::new(),
        max_earnings: String::new(),
        max_sales: String::new(),
        comments: String::new(),
        activate: None,
        mutual_termination: Some("on".to_owned()),
        idempotency_key: key.to_owned(),
        confirmed_not_created: None,
    }
}

async fn create(
    client: &reqwest::Client,
    app: &TestApp,
    form: &CreateContract,
) -> reqwest::Response {
    app.call(client, form.clone()).await
}

/// What `explodely_settings` answers.
async fn explodely_settings(client: &reqwest::Client, app: &TestApp) -> Value {
    app.call(client, ExplodelySettings {})
        .await
        .json()
        .await
        .unwrap()
}

/// What `list_contracts` answers.
async fn contract_overview(client: &reqwest::Client, app: &TestApp) -> Value {
    app.call(client, ListContracts {})
        .await
        .json()
        .await
        .unwrap()
}

fn sorted(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort();
    pairs
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    sorted(
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

on_both_backends!(
    a_minimal_and_a_full_contract_send_exactly_the_documented_fields,
    each_documented_error_lands_where_it_belongs_and_creates_nothing,
    unreadable_replies_and_server_errors_create_nothing,
    an_unknown_outcome_holds_the_form_until_the_admin_confirms,
    a_refused_connection_says_nothing_was_created,
    a_double_submit_calls_explodely_once,
    the_api_key_is_stored_sealed_and_never_shown,
    contracts_need_a_session,
    the_database_holds_only_known_attempt_outcomes,
);

/// The attempt outcome is typed in Rust and checked by the database: text that names no
/// outcome is refused on insert and on update, on both backends.
async fn the_database_holds_only_known_attempt_outcomes(app: &TestApp) {
    const INSERT: &str =
        "INSERT INTO contract_attempts (idempotency_key, outcome, request, admin, \
        started_at) VALUES ($1, $2, '{}', 'admin', $3)";
    let now = chrono::Utc::now();
    let db = &app.state.db;
    let insert = |key: &'static str, outcome: &'static str| async move {
        app::with_pool!(db, pool => sqlx::query(INSERT).bind(key).bind(outcome).bind(now)
            .execute(pool).await.map(|_| ()))
    };
    assert!(insert("k1", "running").await.is_ok());
    let refused = insert("k2", "maybe").await;
    assert!(refused.is_err(), "an unknown outcome was stored");
    const UPDATE: &str =
        "UPDATE contract_attempts SET outcome = 'exploded' WHERE idempotency_key = 'k1'";
    let updated = app::with_pool!(db, pool => sqlx::query(UPDATE).execute(pool).await.map(|_| ()));
    assert!(
        updated.is_err(),
        "an unknown outcome was written by an update"
    );
}

async fn a_minimal_and_a_full_contract_send_exactly_the_documented_fields(app: &TestApp) {
    let (app, mock, client) = with_mock(
        app,
        vec![
            (
                200,
                r#"{"contract_created":"ok", "contractid ":"12345"}"#,
                0,
            ),
            (200, r#"{"contract_created":"ok","contractid":678}"#, 0),
        ],
    )
    .await;
    let res = create(&client, &app, &minimal("aaaaaaaaaaaaaaaaaaaaaaaa")).await;
    common::assert_accepted(&res);
    let full = CreateContract {
        product_choice: "id".to_owned(),
        product_id: "P-77".to_owned(),
        commission: "80".to_owned(),
        start_date: "2024-01-01".to_owned(),
        end_date: "2024-12-31".to_owned(),
        max_earnings: "1000.50".to_owned(),
        max_sales: "12".to_owned(),
        comments: "welcome & thanks".to_owned(),
        activate: Some("on".to_owned()),
        mutual_termination: None,
        ..minimal("bbbbbbbbbbbbbbbbbbbbbbbb")
    };
    create(&client, &app, &full).await;

    let calls = mock.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        sorted(calls[0].clone()),
        pairs(&[
            ("username", "seller1"),
            ("apikey", API_KEY),
            ("apiaction", "createaffcontract"),
            ("contract_name", "Reseller 2026"),
            ("partner_username", "partner42"),
            ("product", "allproducts"),
            ("commission", "25"),
            ("activate", "no"),
            ("mutual_termination", "yes"),
        ])
    );
    assert_eq!(
        sorted(calls[1].clone()),
        pairs(&[
            ("username", "seller1"),
            ("apikey", API_KEY),
            ("apiaction", "createaffcontract"),
            ("contract_name", "Reseller 2026"),
            ("partner_username", "partner42"),
            ("product", "P-77"),
            ("commission", "80"),
            ("start_date", "01-jan-2024"),
            ("end_date", "31-dec-2024"),
            ("max_earnings", "1000.50"),
            ("max_sales", "12"),
            ("comments", "welcome & thanks"),
            ("activate", "yes"),
            ("mutual_termination", "no"),
        ])
    );
    let overview = contract_overview(&client, &app).await;
    let ids: Vec<&str> = overview["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["explodely_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["678", "12345"],
        "newest first, ids as strings even when sent as numbers"
    );
    assert_eq!(overview["contracts"][1]["created_by"], "alice");
    app.cleanup().await;
}

async fn each_documented_error_lands_where_it_belongs_and_creates_nothing(app: &TestApp) {
    let logs = LogCapture::start();
    let cases: [(&'static str, Option<&str>, &str); 8] = [
        (r#"{"error":"invalidapikey"}"#, None, "Settings → Explodely"),
        (
            r#"{"error":"invalid_partnerusername"}"#,
            Some("partner_username"),
            "not a valid Explodely affiliate account",
        ),
        (
            r#"{"error":"partner_contract_exists"}"#,
            Some("partner_username"),
            "active contract with this partner",
        ),
        (
            r#"{"error":"duplicate_contract"}"#,
            None,
            "already has this contract",
        ),
        (
            r#"{"error":"contract_exists"}"#,
            None,
            "contract for all products already exists",
        ),
        (
            r#"{"error":"commission_limit_exceeded"}"#,
            Some("commission"),
            "would exceed 80%",
        ),
        (r#"{"error":"failed"}"#, None, "try again later"),
        (r#"{"error":"<b>quota</b>"}"#, None, "<b>quota</b>"),
    ];
    for (i, (reply, field, words)) in cases.into_iter().enumerate() {
        let (server, mock, client) = with_mock(app, vec![(200, reply, 0)]).await;
        let res = create(&client, &server, &minimal(&format!("key{i:021}"))).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        match field {
            Some(field) => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
                assert_eq!(body["Invalid"][0]["field"], field, "{reply}");
                assert!(
                    body["Invalid"][0]["message"]
                        .as_str()
                        .unwrap()
                        .contains(words),
                    "{reply}: {body}"
                );
            }
            None => {
                assert_eq!(status, StatusCode::BAD_GATEWAY, "{reply}");
                assert!(
                    body["Remote"]["message"].as_str().unwrap().contains(words),
                    "{reply}: {body}"
                );
            }
        }
        assert_eq!(mock.calls().len(), 1);
        server.cleanup().await;
    }
    let client = app.logged_in_admin().await;
    let overview = contract_overview(&client, app).await;
    assert_eq!(
        overview["contracts"],
        serde_json::json!([]),
        "nothing stored as created"
    );
    assert_eq!(
        overview["failed"].as_array().unwrap().len(),
        8,
        "every failed attempt is listed"
    );
    // Refusals, unreadable replies and failures log what happened, never the API key.
    let logs = logs.text();
    assert!(
        logs.contains("Explodely createaffcontract attempt"),
        "logs were captured"
    );
    assert!(!logs.contains(API_KEY), "the API key is in a log line");
}

async fn unreadable_replies_and_server_errors_create_nothing(app: &TestApp) {
    let logs = LogCapture::start();
    let cases = [
        (200, "<html>maintenance</html>", 0),
        (200, "", 0),
        (200, "garbage", 0),
    ];
    for (status, reply, delay) in cases {
        let (server, _mock, client) = with_mock(app, vec![(status, reply, delay)]).await;
        let res = create(&client, &server, &minimal("cccccccccccccccccccccccc")).await;
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "{status} {reply}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["Remote"]["message"]
                .as_str()
                .unwrap()
                .contains("Nothing was stored as created"),
            "{body}"
        );
        server.cleanup().await;
    }
    // Refusals, unreadable replies and failures log what happened, never the API key.
    let logs = logs.text();
    assert!(
        logs.contains("Explodely createaffcontract attempt"),
        "logs were captured"
    );
    assert!(!logs.contains(API_KEY), "the API key is in a log line");
}

/// A reply that may hide a created contract: a 5xx, no answer in time, a reply too large to
/// read (a "created" padded past the 64 KB affdesk reads).
fn replies_with_an_unknown_outcome() -> Vec<(u16, &'static str, u64)> {
    let oversized: &'static str = Box::leak(
        format!(
            r#"{{"contract_created":"ok","contractid":"1","pad":"{}"}}"#,
            "x".repeat(70 * 1024)
        )
        .into_boxed_str(),
    );
    vec![
        (500, r#"{"contract_created":"ok","contractid":"1"}"#, 0),
        (503, "", 0),
        // Longer than the client's timeout (1 s in tests, 20 s in production).
        (200, r#"{"contract_created":"ok","contractid":"1"}"#, 3000),
        (200, oversized, 0),
    ]
}

fn outcome_unknown_message(body: &Value) -> &str {
    body["OutcomeUnknown"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an unknown outcome: {body}"))
}

/// Issue 17 (#6): a timeout, a 5xx or an unreadable large reply may hide a created contract.
/// The answer says so, the form's key stays bound to the attempt (submitting again repeats the
/// answer without calling Explodely), and only a submit that confirms nothing was created calls
/// Explodely again. Before the fix these said "nothing was created" and a retry called again.
async fn an_unknown_outcome_holds_the_form_until_the_admin_confirms(app: &TestApp) {
    for (n, case) in replies_with_an_unknown_outcome().into_iter().enumerate() {
        let created = (200, r#"{"contract_created":"ok","contractid":"4242"}"#, 0);
        let (server, mock, client) = with_mock(app, vec![case, created]).await;
        // One form (one key) per case: the cases share a database.
        let form = minimal(&format!("uuuuuuuuuuuuuuuuuuuuuuu{n}"));
        let res = create(&client, &server, &form).await;
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "{}", case.0);
        let body: Value = res.json().await.unwrap();
        let message = outcome_unknown_message(&body);
        assert!(message.starts_with("Outcome unknown: "), "{message}");
        assert!(
            message.contains(
                "The contract may have been created; check Explodely before trying again"
            ),
            "{message}"
        );
        // The same form again: the same answer, and no second call.
        let again: Value = create(&client, &server, &form).await.json().await.unwrap();
        outcome_unknown_message(&again);
        assert_eq!(
            mock.calls().len(),
            1,
            "a retry of an unknown outcome called Explodely"
        );
        // The attempt is listed among those that created nothing, as unknown.
        let overview = contract_overview(&client, &server).await;
        assert_eq!(overview["failed"][0]["outcome"], "unknown", "{overview}");
        // Confirmed: the next call is made, under the same key, and its contract stored.
        let confirmed = CreateContract {
            confirmed_not_created: Some("on".to_owned()),
            ..form.clone()
        };
        let res = create(&client, &server, &confirmed).await;
        common::assert_accepted(&res);
        assert_eq!(mock.calls().len(), 2);
        // A double submit of the confirmed form still calls once.
        common::assert_accepted(&create(&client, &server, &confirmed).await);
        assert_eq!(mock.calls().len(), 2);
        let overview = contract_overview(&client, &server).await;
        assert_eq!(overview["contracts"][0]["explodely_id"], "4242");
        server.cleanup().await;
    }
}

/// A connection that could not be made sent nothing: that is not an unknown outcome, and the
/// next submit (with the fresh key the form gets) may call at once.
async fn a_refused_connection_says_nothing_was_created(app: &TestApp) {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/aff", closed.local_addr().unwrap());
    drop(closed);
    let server = app
        .another_on_same_database(move |s| s.explodely_url = url)
        .await;
    let client = server.logged_in_admin().await;
    common::assert_accepted(&server.call(&client, credentials("seller1", API_KEY)).await);
    let res = create(&client, &server, &minimal("rrrrrrrrrrrrrrrrrrrrrrrr")).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let body: Value = res.json().await.unwrap();
    let message = body["Remote"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("nothing was sent"), "{body}");
    assert!(message.contains("Nothing was stored as created"), "{body}");
    server.cleanup().await;
}

async fn a_double_submit_calls_explodely_once(app: &TestApp) {
    let (app, mock, client) = with_mock(
        app,
        vec![(200, r#"{"contract_created":"ok","contractid":"777"}"#, 700)],
    )
    .await;
    let form = minimal("dddddddddddddddddddddddd");
    let (a, b) = tokio::join!(create(&client, &app, &form), create(&client, &app, &form));
    common::assert_accepted(&a);
    common::assert_accepted(&b);
    let again = create(&client, &app, &form).await;
    common::assert_accepted(&again);
    assert_eq!(mock.calls().len(), 1, "one form, one call to Explodely");
    let overview = contract_overview(&client, &app).await;
    assert_eq!(overview["contracts"].as_array().unwrap().len(), 1);
    app.cleanup().await;
}

async fn the_api_key_is_stored_sealed_and_never_shown(app: &TestApp) {
    // From before the key is saved: saving it is where it could first reach a log line.
    let logs = LogCapture::start();
    let (app, _mock, client) = with_mock(
        app,
        vec![(200, r#"{"contract_created":"ok","contractid":"1"}"#, 0)],
    )
    .await;
    create(&client, &app, &minimal("eeeeeeeeeeeeeeeeeeeeeeee")).await;
    let view = explodely_settings(&client, &app).await;
    assert_eq!(view["username"], "seller1");
    assert_eq!(view["key_last4"], "9876");
    assert!(!view.to_string().contains(API_KEY));
    let page = app.page(&client, "/settings/explodely").await;
    assert!(!page.contains(API_KEY) && page.contains("9876"));
    // An empty key field keeps the stored key.
    app.call(&client, credentials("seller2", "")).await;
    let view = explodely_settings(&client, &app).await;
    assert_eq!(
        (view["username"].as_str(), view["key_last4"].as_str()),
        (Some("seller2"), Some("9876"))
    );
    const ROWS: &str = "SELECT COALESCE(api_key_sealed, '') FROM explodely_settings \
        UNION ALL SELECT request || COALESCE(reply, '') || COALESCE(message, '') FROM contract_attempts";
    let rows: Vec<String> =
        app::with_pool!(&app.state.db, pool => sqlx::query_scalar(ROWS).fetch_all(pool).await)
            .unwrap();
    assert!(rows.len() >= 2);
    for row in rows {
        assert!(
            !row.contains(API_KEY),
            "the API key is in a stored row: {row}"
        );
    }
    let logs = logs.text();
    assert!(
        logs.contains("Explodely createaffcontract attempt"),
        "logs were captured"
    );
    assert!(!logs.contains(API_KEY), "the API key is in a log line");
    app.cleanup().await;
}

async fn contracts_need_a_session(app: &TestApp) {
    for path in [
        "/api/create_contract",
        "/api/list_contracts",
        "/api/save_explodely_settings",
        "/api/explodely_settings",
    ] {
        let res = app
            .client()
            .post(app.url(path))
            .form(&minimal("ffffffffffffffffffffffff"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}
