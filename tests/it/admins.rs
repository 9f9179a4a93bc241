//! Settings → Admins (issue 17): the list (last login, two-step login, open sessions), creating
//! an admin with a one-time password, disabling and enabling, resetting a password, ending
//! sessions; nobody disables themselves or the last admin who can log in, on the page or the
//! command line; on SQLite and PostgreSQL.

use crate::common::{location, TestApp, PASSWORD};
use app::api::admins::{ChangeAdmin, CreateAdmin, ListAdmins};
use app::api::audit::AuditLog;
use reqwest::StatusCode;
use serde_json::Value;

async fn admins(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    let res = app.call(client, ListAdmins {}).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn row<'a>(list: &'a [Value], username: &str) -> &'a Value {
    list.iter()
        .find(|a| a["username"] == username)
        .unwrap_or_else(|| panic!("{username} is not listed: {list:?}"))
}

async fn change(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    action: &str,
) -> reqwest::Response {
    app.call(
        client,
        ChangeAdmin {
            username: username.to_owned(),
            action: action.to_owned(),
        },
    )
    .await
}

async fn message(res: reqwest::Response) -> String {
    let body: Value = res.json().await.unwrap();
    body["Invalid"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn is_logged_in(app: &TestApp, client: &reqwest::Client) -> bool {
    app.call(client, app::api::account::Whoami {})
        .await
        .status()
        == StatusCode::OK
}

on_both_backends!(
    the_list_shows_last_login_two_step_and_open_sessions,
    a_new_admin_gets_a_one_time_password_that_must_be_changed,
    a_disabled_admin_is_logged_out_and_cannot_log_in_until_enabled,
    nobody_disables_themselves_or_the_last_admin_who_can_log_in,
    a_reset_password_and_ended_sessions_log_the_admin_out,
    two_admins_disabling_each_other_at_once_leave_one_who_can_log_in,
);

async fn the_list_shows_last_login_two_step_and_open_sessions(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    let _second = app.logged_in_admin_with("alice", PASSWORD).await;
    app.create_admin("bob", PASSWORD, false).await;
    let list = admins(app, &alice).await;
    let me = row(&list, "alice");
    assert_eq!(me["is_you"], true);
    assert_eq!(me["sessions"], 2, "{me}");
    assert_eq!(me["mfa"], false);
    assert!(me["last_login"].is_string(), "{me}");
    let bob = row(&list, "bob");
    assert_eq!(
        (
            bob["last_login"].clone(),
            bob["sessions"].clone(),
            bob["is_you"].clone()
        ),
        (Value::Null, Value::from(0), Value::from(false))
    );
    // A logout closes its session.
    _second.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(row(&admins(app, &alice).await, "alice")["sessions"], 1);
    let page = app.page(&alice, "/settings/admins").await;
    assert!(page.contains("data-admin=\"bob\""), "the page lists bob");
}

async fn a_new_admin_gets_a_one_time_password_that_must_be_changed(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    let res = app
        .call(
            &alice,
            CreateAdmin {
                username: "Carol".into(),
            },
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        message(res).await.contains("use 'carol' instead"),
        "the fix is named"
    );
    let res = app
        .call(
            &alice,
            CreateAdmin {
                username: "carol".into(),
            },
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["username"], "carol");
    let password = made["password"].as_str().unwrap().to_owned();
    let again = app
        .call(
            &alice,
            CreateAdmin {
                username: "carol".into(),
            },
        )
        .await;
    assert!(message(again).await.contains("already exists"));
    let carol = app.client();
    let res = app.login(&carol, "carol", &password).await;
    assert_eq!(
        location(&res),
        "/account/password",
        "the one-time password must be replaced first"
    );
}

async fn a_disabled_admin_is_logged_out_and_cannot_log_in_until_enabled(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    app.create_admin("bob", PASSWORD, false).await;
    let bob = app.logged_in_admin_with("bob", PASSWORD).await;
    assert_eq!(
        change(app, &alice, "bob", "disable").await.status(),
        StatusCode::OK
    );
    assert!(
        !is_logged_in(app, &bob).await,
        "bob's session outlived his account"
    );
    let res = app.login(&app.client(), "bob", PASSWORD).await;
    assert!(
        location(&res).starts_with("/login?error=invalid"),
        "{}",
        location(&res)
    );
    let listed = admins(app, &alice).await;
    assert_eq!(row(&listed, "bob")["disabled"], true);
    assert_eq!(
        change(app, &alice, "bob", "enable").await.status(),
        StatusCode::OK
    );
    let res = app.login(&app.client(), "bob", PASSWORD).await;
    assert_eq!(location(&res), "/");
    let log: Value = app
        .call(
            &alice,
            AuditLog {
                kind: String::new(),
                admin: "alice".into(),
                page: 1,
            },
        )
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.starts_with(&["admin_enabled", "admin_disabled"]),
        "{kinds:?}"
    );
}

async fn nobody_disables_themselves_or_the_last_admin_who_can_log_in(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    let res = change(app, &alice, "alice", "disable").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(res).await.contains("cannot disable yourself"));
    let unknown = change(app, &alice, "nobody", "end_sessions").await;
    assert!(message(unknown)
        .await
        .contains("no admin is named 'nobody'"));
    let bad = change(app, &alice, "alice", "promote").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The command line follows the same rules: alice is the only admin who can log in.
    let out = crate::cli::affdesk(
        &app.database_url,
        &["admin", "disable", "--username", "alice"],
        "",
    )
    .await;
    assert!(!out.success);
    assert!(
        out.stderr.contains("only admin who can log in"),
        "{}",
        out.stderr
    );
    app.create_admin("bob", PASSWORD, false).await;
    let out = crate::cli::affdesk(
        &app.database_url,
        &["admin", "disable", "--username", "alice"],
        "",
    )
    .await;
    assert!(out.success, "{}", out.stderr);
    assert!(!is_logged_in(app, &alice).await);
    let out = crate::cli::affdesk(
        &app.database_url,
        &["admin", "enable", "--username", "alice"],
        "",
    )
    .await;
    assert!(out.success, "{}", out.stderr);
}

async fn a_reset_password_and_ended_sessions_log_the_admin_out(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    app.create_admin("bob", PASSWORD, false).await;
    let bob = app.logged_in_admin_with("bob", PASSWORD).await;
    assert_eq!(
        change(app, &alice, "bob", "end_sessions").await.status(),
        StatusCode::OK
    );
    assert!(!is_logged_in(app, &bob).await);
    assert_eq!(row(&admins(app, &alice).await, "bob")["sessions"], 0);
    let bob = app.logged_in_admin_with("bob", PASSWORD).await;
    let res = change(app, &alice, "bob", "reset_password").await;
    assert_eq!(res.status(), StatusCode::OK);
    let made: Value = res.json().await.unwrap();
    let one_time = made["password"].as_str().unwrap().to_owned();
    assert!(!is_logged_in(app, &bob).await);
    let old = app.login(&app.client(), "bob", PASSWORD).await;
    assert!(location(&old).starts_with("/login?error=invalid"));
    let new = app.login(&app.client(), "bob", &one_time).await;
    assert_eq!(location(&new), "/account/password");
}

async fn two_admins_disabling_each_other_at_once_leave_one_who_can_log_in(app: &TestApp) {
    let alice = app.logged_in_admin().await;
    app.create_admin("bob", PASSWORD, false).await;
    let bob = app.logged_in_admin_with("bob", PASSWORD).await;
    let (a, b) = tokio::join!(
        change(app, &alice, "bob", "disable"),
        change(app, &bob, "alice", "disable")
    );
    let statuses = [a.status(), b.status()];
    let succeeded = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(succeeded <= 1, "both were disabled: {statuses:?}");
    let db = &app.state.db;
    let active: i64 = app::with_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE disabled_at IS NULL").fetch_one(pool).await).unwrap();
    assert!(active >= 1, "no admin can log in");
}
