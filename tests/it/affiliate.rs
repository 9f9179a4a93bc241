//! Settings → Affiliate Program over HTTP, on SQLite and PostgreSQL: saving, the all-or-nothing
//! rule, five slots only, version conflicts, the audit trail, the no-JavaScript form and "Send test".

use crate::common::{self, location, spawn_receiver, TestApp};
use app::api::affiliate::{AffiliateSettings, SaveAffiliateSettings, SendTestLink};
use app::domain::affiliate::DeliveryMode::{BrowserPixel, ServerToServer};
use app::domain::affiliate::{AffiliateInput, SlotInput};
use app::domain::link_template::LinkKind;
use app::domain::success::ReplyRules;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    settings_are_saved_and_read_back,
    a_sixth_link_is_refused_by_the_server,
    one_invalid_link_refuses_the_whole_save,
    a_save_based_on_an_old_version_is_refused_with_who_and_when,
    a_save_by_another_instance_shows_at_the_next_load,
    every_save_is_audited_with_before_and_after,
    the_page_and_its_functions_need_a_session,
    without_javascript_insert_keeps_every_unsaved_edit_and_submit_saves,
    without_javascript_a_sixth_link_and_an_invalid_link_save_nothing,
    without_javascript_the_reversal_link_reply_rules_and_conditions_are_inserted_into_and_saved,
    send_test_calls_the_rendered_link_and_reports_the_answer,
    send_test_explains_refused_and_unreachable_addresses,
);

fn slot(url: &str) -> SlotInput {
    SlotInput {
        url: url.to_owned(),
        enabled: true,
        mode: ServerToServer,
        ..SlotInput::default()
    }
}

/// The page as typed: the switch and five server-to-server links, each switched on.
fn links(program_enabled: bool, urls: [&str; 5]) -> AffiliateInput {
    AffiliateInput {
        program_enabled,
        slots: urls.into_iter().map(slot).collect(),
    }
}

async fn save(
    client: &reqwest::Client,
    app: &TestApp,
    input: AffiliateInput,
    version: i64,
) -> reqwest::Response {
    app.call(client, SaveAffiliateSettings { input, version })
        .await
}

async fn load(client: &reqwest::Client, app: &TestApp) -> Value {
    let res = app.call(client, AffiliateSettings {}).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Posts the page's plain HTML form, as a browser without JavaScript does.
async fn post_page(
    client: &reqwest::Client,
    app: &TestApp,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url("/settings/affiliate"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn settings_are_saved_and_read_back(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let fresh = load(&client, app).await;
    assert_eq!(fresh["version"], 0);
    assert_eq!(fresh["input"]["program_enabled"], false);
    assert_eq!(fresh["input"]["slots"].as_array().unwrap().len(), 5);

    let mut input = links(
        true,
        [
            "https://t.example/sale?aid=${account_id}&amount=${amount}",
            "",
            "http://x.example/p",
            "",
            "",
        ],
    );
    input.slots[2].mode = BrowserPixel;
    input.slots[2].enabled = false;
    let res = save(&client, app, input.clone(), 0).await;
    assert_eq!(res.status(), StatusCode::OK);
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["version"], 1);
    let reloaded = load(&client, app).await;
    assert_eq!(reloaded["input"], serde_json::to_value(&input).unwrap());
    assert_eq!(reloaded["version"], 1);

    let page = app.page(&client, "/settings/affiliate").await;
    assert!(
        page.contains("value=\"https://t.example/sale?aid=${account_id}&amp;amount=${amount}\"")
    );
    assert!(
        page.contains("https://t.example/sale?aid=100042&amp;amount=19.95"),
        "the preview renders the sample"
    );
}

/// The page reads the settings from a snapshot cached by stored version. A save that another
/// affdesk instance made on the same database (here: the store itself, bypassing this server)
/// must show at this server's next load, links and history alike.
async fn a_save_by_another_instance_shows_at_the_next_load(app: &TestApp) {
    use app::server::storage::affiliate_store::{self, SaveOutcome};
    let client = app.logged_in_admin().await;
    assert_eq!(
        load(&client, app).await["version"],
        0,
        "version 0 is cached now"
    );

    let input = links(
        true,
        ["https://elsewhere.example/s?o=${order_id}", "", "", "", ""],
    );
    let by_other_instance = app::server::storage::audit_log::Actor {
        name: "other-instance".to_owned(),
        address: "local".to_owned(),
    }
    .event(
        app::domain::states::AuditKind::AffiliateSaved,
        "saved by another instance",
        chrono::Utc::now(),
    );
    let outcome = affiliate_store::save(&app.state.db, &input, 0, &by_other_instance)
        .await
        .unwrap();
    assert!(
        matches!(outcome, SaveOutcome::Saved { version: 1 }),
        "{outcome:?}"
    );

    let reloaded = load(&client, app).await;
    assert_eq!(reloaded["version"], 1);
    assert_eq!(
        reloaded["input"]["slots"][0]["url"],
        "https://elsewhere.example/s?o=${order_id}"
    );
    assert_eq!(reloaded["history"][0]["by"], "other-instance");
    let page = app.page(&client, "/settings/affiliate").await;
    assert!(page.contains("https://elsewhere.example/s?o=${order_id}"));
}

async fn a_sixth_link_is_refused_by_the_server(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let mut six = links(true, ["", "", "", "", ""]);
    six.slots.push(slot("https://six.example/"));
    let res = save(&client, app, six, 0).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(body["Invalid"][0]["message"]
        .as_str()
        .unwrap()
        .contains("exactly 5 links; 6 were sent"));
    assert_eq!(load(&client, app).await["version"], 0, "nothing saved");
}

async fn one_invalid_link_refuses_the_whole_save(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let input = links(
        true,
        [
            "https://ok.example/",
            "https://t.example/?a=${amont}",
            "",
            "gopher://x",
            "",
        ],
    );
    let res = save(&client, app, input, 0).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["Invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["link-2", "link-4"]);
    assert!(body["Invalid"][0]["message"]
        .as_str()
        .unwrap()
        .contains("${amont} at character 22"));
    let stored = load(&client, app).await;
    assert_eq!(stored["version"], 0);
    assert_eq!(
        stored["input"]["slots"][0]["url"], "",
        "the valid slot was not saved either"
    );
    assert_eq!(stored["input"]["program_enabled"], false);
}

async fn a_save_based_on_an_old_version_is_refused_with_who_and_when(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    app.create_admin("bob", common::PASSWORD, false).await;
    let bob = app.client();
    assert_eq!(
        location(&app.login(&bob, "bob", common::PASSWORD).await),
        "/"
    );

    let first = links(true, ["https://bob.example/", "", "", "", ""]);
    assert_eq!(save(&bob, app, first, 0).await.status(), StatusCode::OK);
    let late = links(false, ["https://alice.example/", "", "", "", ""]);
    let res = save(&alice, app, late, 0).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["Conflict"]["by"], "bob");
    assert!(body["Conflict"]["at"].as_str().unwrap().ends_with("UTC"));
    let stored = load(&alice, app).await;
    assert_eq!(
        stored["input"]["slots"][0]["url"], "https://bob.example/",
        "bob's save stands"
    );
}

async fn every_save_is_audited_with_before_and_after(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let v1 = links(true, ["https://a.example/", "", "", "", ""]);
    assert_eq!(save(&client, app, v1, 0).await.status(), StatusCode::OK);
    let v2 = links(
        true,
        ["https://b.example/", "", "https://c.example/", "", ""],
    );
    let res = save(&client, app, v2, 1).await;
    let state: Value = res.json().await.unwrap();
    let history = state["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["by"], "alice");
    assert_eq!(
        history[0]["changes"],
        json!(["edited Link 1", "set Link 3"])
    );
    assert_eq!(
        history[1]["changes"],
        json!(["switched the affiliate program on", "set Link 1"])
    );
    for version in 2..=7 {
        let v = links(version % 2 == 0, ["", "", "", "", ""]);
        assert_eq!(
            save(&client, app, v, version).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        load(&client, app).await["history"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "the page shows the last five"
    );
}

async fn the_page_and_its_functions_need_a_session(app: &TestApp) {
    let anonymous = app.client();
    for path in [
        "/api/affiliate_settings",
        "/api/save_affiliate_settings",
        "/api/send_test_link",
    ] {
        let res = anonymous
            .post(app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let res = anonymous
        .get(app.url("/settings/affiliate"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?next=%2Fsettings%2Faffiliate");
    let res = post_page(
        &anonymous,
        app,
        &[
            ("intent", "save"),
            ("version", "0"),
            ("url_1", "https://x.example/"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"));
}

async fn without_javascript_insert_keeps_every_unsaved_edit_and_submit_saves(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let res = post_page(
        &client,
        app,
        &[
            ("version", "0"),
            ("program_enabled", "on"),
            ("url_1", "https://one.example/?n=1"),
            ("enabled_1", "on"),
            ("mode_1", "pixel"),
            ("url_2", "https://two.example/?aid="),
            ("enabled_2", "on"),
            ("mode_2", "server"),
            ("token", "${account_id}"),
            ("target", "2"),
            ("intent", "insert"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("value=\"https://two.example/?aid=${account_id}\""),
        "token appended to Link 2"
    );
    assert!(
        html.contains("value=\"https://one.example/?n=1\""),
        "Link 1's unsaved edit is kept"
    );
    assert!(html.contains("Not saved yet"));
    assert_eq!(
        load(&client, app).await["version"],
        0,
        "insert saves nothing"
    );

    let res = post_page(
        &client,
        app,
        &[
            ("version", "0"),
            ("program_enabled", "on"),
            ("url_1", "https://one.example/?n=1"),
            ("enabled_1", "on"),
            ("mode_1", "pixel"),
            ("url_2", "https://two.example/?aid=${account_id}"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/settings/affiliate?saved=1");
    let stored = load(&client, app).await;
    assert_eq!(stored["input"]["program_enabled"], true);
    assert_eq!(stored["input"]["slots"][0]["mode"], "BrowserPixel");
    assert_eq!(
        stored["input"]["slots"][1]["url"],
        "https://two.example/?aid=${account_id}"
    );
    assert_eq!(
        stored["input"]["slots"][1]["enabled"], false,
        "an unticked box posts nothing: off"
    );
    let page = app.page(&client, "/settings/affiliate?saved=1").await;
    assert!(page.contains("Settings saved."));
}

async fn without_javascript_a_sixth_link_and_an_invalid_link_save_nothing(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let res = post_page(
        &client,
        app,
        &[
            ("version", "0"),
            ("url_1", "https://one.example/"),
            ("url_6", "https://six.example/"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post_page(
        &client,
        app,
        &[
            ("version", "0"),
            ("url_1", "https://one.example/"),
            ("url_2", "https://t.example/?a=${amont}"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Nothing was saved"));
    assert!(
        html.contains("is not a known parameter"),
        "the error shows beside the link"
    );
    assert!(
        html.contains("value=\"https://t.example/?a=${amont}\""),
        "the input stays in the field"
    );
    assert_eq!(load(&client, app).await["version"], 0);
}

async fn send_test_calls_the_rendered_link_and_reports_the_answer(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let receiver = spawn_receiver().await;
    let link = format!(
        "{}/sale?aid=${{account_id}}&plan=${{plan_name}}",
        receiver.base
    );
    let res = app
        .call(
            &client,
            SendTestLink {
                url: link,
                kind: LinkKind::Signup,
                rules: ReplyRules::default(),
            },
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let outcome: Value = res.json().await.unwrap();
    assert_eq!(outcome["status"], 200);
    assert_eq!(outcome["body_excerpt"], "tracked");
    assert_eq!(outcome["error"], Value::Null);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].target, "/sale?aid=100042&plan=Business%20%26%20Pro");
    assert!(
        hits[0].user_agent.starts_with("affdesk/"),
        "User-Agent: {}",
        hits[0].user_agent
    );

    let invalid = app
        .call(
            &client,
            SendTestLink {
                url: "https://t.example/?a=${amont}".to_owned(),
                kind: LinkKind::Signup,
                rules: ReplyRules::default(),
            },
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn send_test_explains_refused_and_unreachable_addresses(app: &TestApp) {
    let client = app.logged_in_admin().await;
    // Nothing listens on this port once the listener is dropped.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cases = [
        (format!("http://127.0.0.1:{closed}/x"), "connection refused"),
        ("http://10.1.2.3/x".to_owned(), "address not allowed"),
        (
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "link-local",
        ),
        ("http://localhost.invalid/x".to_owned(), "DNS failure"),
    ];
    for (url, expected) in cases {
        let res = app
            .call(
                &client,
                SendTestLink {
                    url: url.clone(),
                    kind: LinkKind::Signup,
                    rules: ReplyRules::default(),
                },
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let outcome: Value = res.json().await.unwrap();
        let error = outcome["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{url}: {error}");
        assert_eq!(outcome["status"], Value::Null);
    }
}

async fn without_javascript_the_reversal_link_reply_rules_and_conditions_are_inserted_into_and_saved(
    app: &TestApp,
) {
    let client = app.logged_in_admin().await;
    let form = |intent: &'static str, reversal: &'static str| {
        vec![
            ("version", "0"),
            ("program_enabled", "on"),
            ("url_1", "https://t.example/s?o=${order_id}"),
            ("enabled_1", "on"),
            ("mode_1", "server"),
            ("reversal_url_1", reversal),
            ("contains_1", "success=true"),
            ("not_contains_1", "err_msg"),
            ("plan_rule_1", "only"),
            ("plans_1", "7, 8"),
            ("min_amount_1", "10"),
            ("types_1", "card"),
            ("token", "${reversal_id}"),
            ("target", "6"),
            ("intent", intent),
        ]
    };
    // Insert into "Link 1 reversal" (target 6) keeps every other field as posted.
    let res = post_page(&client, app, &form("insert", "https://t.example/r?id=")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("value=\"https://t.example/r?id=${reversal_id}\""),
        "{html}"
    );
    assert!(html.contains("value=\"success=true\"") && html.contains("value=\"7, 8\""));
    assert!(
        html.contains("Link 1&#x27;s reversal link") || html.contains("Link 1's reversal link")
    );

    let res = post_page(
        &client,
        app,
        &form("save", "https://t.example/r?id=${reversal_id}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let slot = &load(&client, app).await["input"]["slots"][0];
    assert_eq!(
        slot["reversal_url"],
        "https://t.example/r?id=${reversal_id}"
    );
    assert_eq!(
        slot["rules"],
        json!({"contains": "success=true", "not_contains": "err_msg"})
    );
    assert_eq!(
        slot["conditions"],
        json!({"plan_rule": "only", "plans": "7, 8", "min_amount": "10", "types": "card"})
    );

    // Folded, a link's section carries its values in hidden fields; "Show these settings"
    // brings the page back with that section's fields.
    let page = app.page(&client, "/settings/affiliate").await;
    assert!(page.contains("name=\"reversal_url_1\"") && !page.contains("id=\"reversal-1\""));
    let mut more = form("more-2", "https://t.example/r?id=${reversal_id}");
    more[0] = ("version", "1");
    let shown = post_page(&client, app, &more).await.text().await.unwrap();
    assert!(shown.contains("id=\"reversal-2\"") && shown.contains("name=\"opened_2\""));
    assert!(!shown.contains("id=\"reversal-3\""));

    // A bad field refuses the save and comes back with what was typed.
    let mut bad = form("save", "https://t.example/r?id=${reversal_id}");
    bad[10] = ("min_amount_1", "ten");
    bad[0] = ("version", "1");
    let res = post_page(&client, app, &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("value=\"ten\""));
}
