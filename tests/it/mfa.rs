//! Two-step login (issue 17): setting up an authenticator app, logging in with its code or a
//! recovery code, a code never accepted twice, codes throttled like passwords, the command
//! line's reset, and AFFDESK_REQUIRE_MFA; on SQLite and PostgreSQL.

use crate::common::{self, location, TestApp, PASSWORD};
use app::api::account::{BeginTwoStep, ConfirmTwoStep, TwoStepStatus, Whoami};
use app::domain::totp;
use app::server::clock::Clock;
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::Value;

/// An admin's authenticator app, as the tests hold it: the secret the set-up page showed.
struct App {
    secret: Vec<u8>,
}

impl App {
    /// The code the app shows at the test clock's now, `steps_later` steps on.
    fn code(&self, app: &TestApp, steps_later: u64) -> String {
        let step = totp::step_of(app.clock.now().timestamp()) + steps_later;
        totp::code_at(&self.secret, step)
    }
}

/// Sets up two-step login for the admin `client` is logged in as; returns the app and the
/// recovery codes.
async fn enrol(app: &TestApp, client: &reqwest::Client) -> (App, Vec<String>) {
    let res = app.call(client, BeginTwoStep {}).await;
    assert_eq!(res.status(), StatusCode::OK);
    let enrolment: Value = res.json().await.unwrap();
    let text = enrolment["secret"].as_str().unwrap();
    assert!(
        enrolment["qr_svg"].as_str().unwrap().starts_with("<svg"),
        "{enrolment}"
    );
    let authenticator = App {
        secret: totp::base32_decode(text).expect("the secret is base32"),
    };
    let wrong = app
        .call(
            client,
            ConfirmTwoStep {
                code: "000000".into(),
            },
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = authenticator.code(app, 0);
    let res = app.call(client, ConfirmTwoStep { code }).await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Vec<String> = res.json().await.unwrap();
    assert_eq!(codes.len(), 10);
    (authenticator, codes)
}

async fn status(app: &TestApp, client: &reqwest::Client) -> Value {
    app.call(client, TwoStepStatus {})
        .await
        .json()
        .await
        .unwrap()
}

/// Posts the second-factor form; returns where it sends the browser.
async fn second_factor(app: &TestApp, client: &reqwest::Client, code: &str) -> String {
    let res = client
        .post(app.url("/login/mfa"))
        .form(&[("code", code), ("next", "/signups")])
        .send()
        .await
        .unwrap();
    location(&res)
}

/// Logs `alice` in with her password on a fresh client, up to the second-factor step.
async fn password_step(app: &TestApp) -> reqwest::Client {
    let client = app.client();
    let res = app.login_with(&client, "alice", PASSWORD, "/signups").await;
    assert_eq!(location(&res), "/login/mfa?next=%2Fsignups");
    client
}

async fn is_logged_in(app: &TestApp, client: &reqwest::Client) -> bool {
    app.call(client, Whoami {}).await.status() == StatusCode::OK
}

on_both_backends!(
    an_admin_enrols_and_then_logs_in_with_the_apps_code,
    a_recovery_code_logs_in_once,
    wrong_codes_are_throttled_like_passwords,
    code_guesses_from_many_addresses_are_throttled_per_admin,
    the_command_line_resets_two_step_login,
    another_admin_resets_two_step_login_on_the_admins_page,
);

async fn another_admin_resets_two_step_login_on_the_admins_page(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    app.create_admin("bob", PASSWORD, false).await;
    let bob = app.logged_in_admin_with("bob", PASSWORD).await;
    enrol(app, &bob).await;
    let listed: Vec<Value> = app
        .call(&alice, app::api::admins::ListAdmins {})
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|a| a["username"] == "bob" && a["mfa"] == true),
        "{listed:?}"
    );
    let reset = app
        .call(
            &alice,
            app::api::admins::ChangeAdmin {
                username: "bob".into(),
                action: "reset_mfa".into(),
            },
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert!(!is_logged_in(app, &bob).await, "bob's sessions end");
    let again = app.client();
    assert_eq!(location(&app.login(&again, "bob", PASSWORD).await), "/");
    assert_eq!(status(app, &again).await["enabled"], false);
}

async fn an_admin_enrols_and_then_logs_in_with_the_apps_code(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    let before = status(app, &alice).await;
    assert_eq!(before["enabled"], false);
    let (phone, _codes) = enrol(app, &alice).await;
    let after = status(app, &alice).await;
    assert_eq!(
        (
            after["enabled"].clone(),
            after["recovery_codes_left"].clone()
        ),
        (Value::from(true), Value::from(10))
    );
    // Setting up again is refused while it is on.
    let again = app.call(&alice, BeginTwoStep {}).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The password alone does not log in: the session waits for the code.
    let client = password_step(app).await;
    assert!(
        !is_logged_in(app, &client).await,
        "logged in by the password alone"
    );
    // The code that confirmed the set-up was used: it is refused.
    let reused = second_factor(app, &client, &phone.code(app, 0)).await;
    assert_eq!(reused, "/login/mfa?error=invalid&next=%2Fsignups");
    assert!(!is_logged_in(app, &client).await);
    // Half a minute later the app shows a new code; with a space, as apps display it.
    app.clock.advance(TimeDelta::seconds(30));
    let code = phone.code(app, 0);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(second_factor(app, &client, &spaced).await, "/signups");
    assert!(is_logged_in(app, &client).await);
    // The same code once more, from another browser: refused, it was used.
    let other = password_step(app).await;
    assert_eq!(
        second_factor(app, &other, &code).await,
        "/login/mfa?error=invalid&next=%2Fsignups"
    );
    // A login waits five minutes for its code at most.
    let late = password_step(app).await;
    app.clock.advance(TimeDelta::minutes(6));
    let code = phone.code(app, 0);
    assert_eq!(
        second_factor(app, &late, &code).await,
        "/login?error=expired&username=&next=%2Fsignups"
    );
}

async fn a_recovery_code_logs_in_once(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    let (_phone, codes) = enrol(app, &alice).await;
    let client = password_step(app).await;
    let typed = codes[3].to_uppercase();
    assert_eq!(second_factor(app, &client, &typed).await, "/signups");
    assert!(is_logged_in(app, &client).await);
    assert_eq!(status(app, &client).await["recovery_codes_left"], 9);
    let again = password_step(app).await;
    assert_eq!(
        second_factor(app, &again, &codes[3]).await,
        "/login/mfa?error=invalid&next=%2Fsignups"
    );
    // Stored as keyed hashes only.
    let db = &app.state.db;
    let stored: Vec<String> = app::with_pool!(db, pool => sqlx::query_scalar("SELECT code_hash FROM admin_recovery_codes").fetch_all(pool).await).unwrap();
    assert_eq!(stored.len(), 10);
    assert!(codes
        .iter()
        .all(|c| !stored.iter().any(|s| s.contains(c.as_str()))));
    let sealed: String = app::with_pool!(db, pool => sqlx::query_scalar("SELECT secret_sealed FROM admin_mfa").fetch_one(pool).await).unwrap();
    assert!(totp::base32_decode(&sealed).is_none_or(|bytes| bytes.len() != totp::SECRET_BYTES));
}

async fn wrong_codes_are_throttled_like_passwords(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    enrol(app, &alice).await;
    app.clock.advance(TimeDelta::seconds(30));
    // One login gets five wrong codes at most; then its password must be typed again.
    let client = password_step(app).await;
    for attempt in 1..=5 {
        let to = second_factor(app, &client, "123456").await;
        if attempt < 5 {
            assert!(to.contains("error=invalid"), "{attempt}: {to}");
        } else {
            assert!(to.starts_with("/login?error=expired"), "{attempt}: {to}");
        }
    }
    // They counted against this address as failed passwords do: the right password is
    // refused too while the pause lasts.
    let again = app.client();
    let res = app.login_with(&again, "alice", PASSWORD, "/signups").await;
    assert!(
        location(&res).contains("error=throttled"),
        "{}",
        location(&res)
    );
}

/// Someone who knows the password cannot guess codes from one address after another: code
/// failures also count per admin (from browsers that have not logged in as the admin before).
async fn code_guesses_from_many_addresses_are_throttled_per_admin(app: &TestApp) {
    let server = app
        .another_on_same_database(|s| {
            s.trusted_proxies = app::domain::address::AllowList::parse("127.0.0.1").unwrap();
        })
        .await;
    let alice = server.logged_in_admin().await;
    enrol(&server, &alice).await;
    server.clock.advance(TimeDelta::seconds(30));
    let mut refused_at = None;
    for n in 1..=7u8 {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            format!("198.51.100.{n}").parse().unwrap(),
        );
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        let res = server
            .login_with(&client, "alice", PASSWORD, "/signups")
            .await;
        assert_eq!(location(&res), "/login/mfa?next=%2Fsignups", "address {n}");
        let to = second_factor(&server, &client, "123456").await;
        if to.contains("error=throttled") {
            refused_at = Some(n);
            break;
        }
        assert!(to.contains("error=invalid"), "{to}");
    }
    let refused_at = refused_at.expect("codes from new addresses were never throttled");
    println!("one wrong code from each new address: refused from address {refused_at} on");
    assert!(refused_at <= 6, "{refused_at}");
    server.cleanup().await;
}

async fn the_command_line_resets_two_step_login(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    enrol(app, &alice).await;
    let out = crate::cli::affdesk(
        &app.database_url,
        &["admin", "reset-mfa", "--username", "alice"],
        "",
    )
    .await;
    assert!(out.success, "{}", out.stderr);
    assert!(out.stdout.contains("turned off"), "{}", out.stdout);
    // Her sessions ended; the password alone logs in again.
    assert!(!is_logged_in(app, &alice).await);
    let client = app.client();
    let res = app.login(&client, "alice", PASSWORD).await;
    assert_eq!(location(&res), "/");
    assert_eq!(status(app, &client).await["enabled"], false);
    let unknown = crate::cli::affdesk(
        &app.database_url,
        &["admin", "reset-mfa", "--username", "nobody"],
        "",
    )
    .await;
    assert!(
        !unknown.success && unknown.stderr.contains("no admin is named 'nobody'"),
        "{}",
        unknown.stderr
    );
}

/// AFFDESK_REQUIRE_MFA: an admin without two-step login reaches nothing but its set-up page
/// (pages redirect there, server functions answer 403) until it is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_two_step_login_must_be_set_up_first() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some(app) = TestApp::spawn_with(backend, |s| s.require_mfa = true).await else {
            continue;
        };
        common::within_limit(async {
            let alice = app.logged_in_admin().await;
            let page = alice
                .get(app.url("/settings/affiliate"))
                .send()
                .await
                .unwrap();
            assert_eq!(location(&page), "/account/mfa");
            let call = app
                .call(&alice, app::api::contracts::ListContracts {})
                .await;
            assert_eq!(call.status(), StatusCode::FORBIDDEN);
            let body: Value = call.json().await.unwrap();
            assert_eq!(body, Value::from("MfaEnrolmentRequired"));
            assert_eq!(status(&app, &alice).await["required"], true);
            let mfa_page = app.page(&alice, "/account/mfa").await;
            assert!(mfa_page.contains("two-step-required"), "the page says why");
            enrol(&app, &alice).await;
            let page = alice
                .get(app.url("/settings/affiliate"))
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), StatusCode::OK);
        })
        .await;
        app.cleanup().await;
    }
}
