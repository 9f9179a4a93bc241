//! Login, sessions, throttling and request guards, over HTTP against the real server, on SQLite
//! and on PostgreSQL.

use crate::common::{self, location, session_cookie, TestApp, PASSWORD};
use app::api::account::{ChangePassword, Whoami};
use chrono::TimeDelta;
use reqwest::StatusCode;

on_both_backends!(
    login_succeeds_and_shows_the_admin_shell,
    wrong_password_and_unknown_user_get_the_same_answer,
    throttling_kicks_in_at_the_sixth_attempt_for_a_username,
    throttling_kicks_in_at_the_sixth_failure_from_one_address,
    the_pre_login_session_id_is_not_valid_after_login,
    logout_ends_the_session,
    a_protected_page_redirects_to_login_with_next_and_login_returns_there,
    next_pointing_to_another_site_is_ignored,
    cross_site_posts_are_refused,
    server_functions_answer_401_without_a_session,
    an_idle_session_expires,
    changing_the_password_ends_the_other_sessions,
    a_one_time_password_forces_a_new_password_first,
    health_check_reports_the_database,
);

async fn login_succeeds_and_shows_the_admin_shell(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    let client = app.client();
    let res = app.login(&client, "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("affdesk_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "not Secure unless configured: {cookie}"
    );

    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("'nonce-"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    let html = page.text().await.unwrap();
    assert!(html.contains("affdesk"));
    assert!(html.contains("Logged in as"), "the shell names the admin");
    assert!(html.contains(">alice<"));
    for link in [
        "/settings/affiliate",
        "/affiliate/contracts",
        "/signups",
        "/account/password",
    ] {
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "navigation links to {link}"
        );
    }
}

async fn wrong_password_and_unknown_user_get_the_same_answer(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    let wrong = app.login(&app.client(), "alice", "not the password").await;
    let unknown = app
        .login(&app.client(), "mallory", "not the password")
        .await;
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(location(&wrong), "/login?error=invalid&username=alice");
    assert_eq!(location(&unknown), "/login?error=invalid&username=mallory");
    assert!(session_cookie(&wrong).is_none() && session_cookie(&unknown).is_none());

    let page = app
        .client()
        .get(app.url(&location(&wrong)))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Wrong username or password."));
}

async fn throttling_kicks_in_at_the_sixth_attempt_for_a_username(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    let client = app.client();
    for attempt in 1..=5 {
        let res = app.login(&client, "alice", "wrong password!").await;
        assert!(
            location(&res).contains("error=invalid"),
            "attempt {attempt}"
        );
    }
    // The sixth attempt is refused even with the right password, and says when to retry.
    let res = app.login(&client, "Alice", PASSWORD).await;
    let target = location(&res);
    assert!(target.starts_with("/login?error=throttled"), "{target}");
    assert!(
        target.contains("retry=30") || target.contains("retry=29"),
        "{target}"
    );
    let html = client
        .get(app.url(&target))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Too many failed logins"), "the page says why");

    // After the delay the right password works, and success clears the username's count.
    app.clock.advance(TimeDelta::seconds(31));
    let res = app.login(&client, "alice", PASSWORD).await;
    assert_eq!(location(&res), "/");
}

async fn throttling_kicks_in_at_the_sixth_failure_from_one_address(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        let res = app.login(&app.client(), name, "wrong password!").await;
        assert!(location(&res).contains("error=invalid"));
    }
    // Another username from the same address is refused too, and the refusal reads the same
    // as for a username that does not exist.
    let res = app.login(&app.client(), "alice", PASSWORD).await;
    assert!(
        location(&res).starts_with("/login?error=throttled"),
        "{}",
        location(&res)
    );
    let res = app.login(&app.client(), "nobody", PASSWORD).await;
    assert!(location(&res).starts_with("/login?error=throttled"));
}

async fn the_pre_login_session_id_is_not_valid_after_login(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    // A session id planted before login (fixation) is not the one that becomes authenticated.
    let planted = "AAAAAAAAAAAAAAAAAAAAAA";
    let res = app
        .bare_client()
        .post(app.url("/login"))
        .header("cookie", format!("affdesk_session={planted}"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let first = session_cookie(&res).expect("login sets a session cookie");
    assert_ne!(first, planted);

    // Logging in again from a logged-in session issues another id and retires the old one.
    let res = app
        .bare_client()
        .post(app.url("/login"))
        .header("cookie", format!("affdesk_session={first}"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let second = session_cookie(&res).expect("a new session cookie");
    assert_ne!(first, second);
    let with_old = app
        .bare_client()
        .get(app.url("/"))
        .header("cookie", format!("affdesk_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_old.status(), StatusCode::SEE_OTHER);
    assert!(location(&with_old).starts_with("/login"));
    let with_new = app
        .bare_client()
        .get(app.url("/"))
        .header("cookie", format!("affdesk_session={second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_new.status(), StatusCode::OK);
}

async fn logout_ends_the_session(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    let res = app.login(&app.bare_client(), "alice", PASSWORD).await;
    let cookie = format!("affdesk_session={}", session_cookie(&res).unwrap());
    let res = app
        .bare_client()
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?info=logged_out");
    let after = app
        .bare_client()
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/login"));
}

async fn a_protected_page_redirects_to_login_with_next_and_login_returns_there(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    let client = app.client();
    for path in [
        "/",
        "/settings/affiliate",
        "/signups",
        "/account/password",
        "/no/such/page",
    ] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&res).starts_with("/login"), "{path}");
    }
    let res = client
        .get(app.url("/settings/affiliate?tab=links"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&res),
        "/login?next=%2Fsettings%2Faffiliate%3Ftab%3Dlinks"
    );
    let res = app
        .login_with(&client, "alice", PASSWORD, "/settings/affiliate?tab=links")
        .await;
    assert_eq!(location(&res), "/settings/affiliate?tab=links");
    let page = client
        .get(app.url("/settings/affiliate"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Use affiliate program"));
}

async fn next_pointing_to_another_site_is_ignored(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    for evil in ["https://evil.example", "//evil.example", "/\\evil.example"] {
        let res = app.login_with(&app.client(), "alice", PASSWORD, evil).await;
        assert_eq!(location(&res), "/", "next={evil}");
    }
}

async fn cross_site_posts_are_refused(app: &TestApp) {
    let client = app.logged_in_admin().await;
    let foreign = client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let cross = client
        .post(app.url("/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let fn_call = client
        .post(app.url("/api/change_password"))
        .header("origin", "https://evil.example")
        .form(&[
            ("current_password", PASSWORD),
            ("new_password", "evil new password"),
            ("confirm_password", "evil new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(fn_call.status(), StatusCode::FORBIDDEN);
    // The session survived all of that, and the password did not change.
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let res = app.login(&app.client(), "alice", PASSWORD).await;
    assert_eq!(location(&res), "/");
    // The same origin is accepted.
    let own = client
        .post(app.url("/logout"))
        .header("origin", app.base.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(location(&own), "/login?info=logged_out");
}

async fn server_functions_answer_401_without_a_session(app: &TestApp) {
    for path in ["/api/whoami", "/api/change_password"] {
        let res = app.client().post(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(res.text().await.unwrap(), "\"Unauthorized\"");
    }
    let client = app.logged_in_admin().await;
    let res = app.call(&client, Whoami {}).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["username"], "alice");
}

async fn an_idle_session_expires(app: &TestApp) {
    let client = app.logged_in_admin().await;
    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // Activity keeps it alive; 31 idle minutes end it.
    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    app.clock.advance(TimeDelta::minutes(31));
    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"));
}

/// The arguments of `change_password`: the current password, the new one and its confirmation.
fn change(current: &str, new: &str, confirm: &str) -> ChangePassword {
    ChangePassword {
        current_password: current.to_owned(),
        new_password: new.to_owned(),
        confirm_password: confirm.to_owned(),
    }
}

async fn changing_the_password_ends_the_other_sessions(app: &TestApp) {
    let this = app.logged_in_admin().await;
    let other = app.client();
    assert_eq!(location(&app.login(&other, "alice", PASSWORD).await), "/");

    let new_password = "a brand new passphrase";
    let mismatch = app
        .call(
            &this,
            change(PASSWORD, new_password, "something else entirely"),
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = mismatch.json().await.unwrap();
    assert_eq!(body["Invalid"][0]["field"], "confirm_password");

    let wrong_current = app
        .call(&this, change("not my password", new_password, new_password))
        .await;
    assert_eq!(wrong_current.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let changed = app
        .call(&this, change(PASSWORD, new_password, new_password))
        .await;
    assert!(
        changed.status().is_success() || changed.status().is_redirection(),
        "{}",
        changed.status()
    );

    assert_eq!(
        this.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK,
        "this session continues"
    );
    let res = other.get(app.url("/")).send().await.unwrap();
    assert!(
        location(&res).starts_with("/login"),
        "the other session is over"
    );
    assert!(location(&app.login(&app.client(), "alice", PASSWORD).await).contains("error=invalid"));
    assert_eq!(
        location(&app.login(&app.client(), "alice", new_password).await),
        "/"
    );
}

async fn a_one_time_password_forces_a_new_password_first(app: &TestApp) {
    app.create_admin("root", PASSWORD, true).await;
    let client = app.client();
    let res = app.login_with(&client, "root", PASSWORD, "/signups").await;
    assert_eq!(location(&res), "/account/password");
    let res = client.get(app.url("/signups")).send().await.unwrap();
    assert_eq!(location(&res), "/account/password");
    let page = client
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let new_password = "my own passphrase now";
    app.call(&client, change(PASSWORD, new_password, new_password))
        .await;
    assert_eq!(
        client
            .get(app.url("/signups"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn health_check_reports_the_database(app: &TestApp) {
    let res = app
        .bare_client()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok");
    app.state.db.close().await;
    let res = app
        .bare_client()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// `AFFDESK_COOKIE_SECURE` and `AFFDESK_SESSION_IDLE_MINUTES` reach the cookie itself.
async fn the_cookie_carries_the_configured_flags(backend: common::Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.cookie_secure = true;
        s.session_idle_timeout = chrono::TimeDelta::minutes(7);
    })
    .await
    else {
        return;
    };
    common::within_limit(async {
        app.create_admin("alice", PASSWORD, false).await;
        let res = app.login(&app.client(), "alice", PASSWORD).await;
        assert_eq!(location(&res), "/");
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("affdesk_session="))
            .expect("a session cookie")
            .to_owned();
        for flag in [
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=420",
        ] {
            assert!(
                cookie.split("; ").any(|part| part == flag),
                "{flag} missing: {cookie}"
            );
        }
    })
    .await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_carries_the_configured_flags_sqlite() {
    the_cookie_carries_the_configured_flags(common::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_carries_the_configured_flags_postgres() {
    the_cookie_carries_the_configured_flags(common::Backend::Postgres).await;
}
