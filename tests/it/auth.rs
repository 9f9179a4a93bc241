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
    a_busy_session_still_ends_at_its_absolute_lifetime,
    an_https_origin_makes_the_cookie_secure_and_host_prefixed,
    authenticated_answers_are_never_stored,
    a_forged_forwarded_for_line_does_not_escape_the_address_throttle,
    two_hundred_wrong_passwords_at_once_are_checked_at_most_five_times,
    failures_from_elsewhere_do_not_lock_an_admin_out,
);

/// 200 wrong-password logins for one admin from one address, all at once: attempts take turns
/// and are counted before their check, so at most five passwords are checked; the admin, from
/// the browser they logged in with before (its device cookie), logs in during the attack.
async fn two_hundred_wrong_passwords_at_once_are_checked_at_most_five_times(app: &TestApp) {
    // All 200 from one address are let in (the attacker and the admin share 127.0.0.1 here):
    // this measures the password checks, not the per-address connection cap, which would
    // close most of the attacker's connections unanswered.
    let server = app
        .another_on_same_database(|s| s.max_connections_per_address = 1024)
        .await;
    let app = &server;
    app.create_admin("alice", PASSWORD, false).await;
    let browser = app.client();
    assert_eq!(location(&app.login(&browser, "alice", PASSWORD).await), "/");
    browser.post(app.url("/logout")).send().await.unwrap();
    let before = app.state.passwords.verifies();
    let attacker = app.bare_client();
    let attack: Vec<_> = (0..200)
        .map(|_| {
            let request = attacker
                .post(app.url("/login"))
                .form(&[("username", "alice"), ("password", "wrong password!")]);
            tokio::spawn(async move { request.send().await.map(|r| r.status()) })
        })
        .collect();
    let admin = app.login(&browser, "alice", PASSWORD).await;
    for attempt in attack {
        let status = attempt.await.unwrap().unwrap();
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
            "{status}"
        );
    }
    // One check is the admin's own.
    let checked = app.state.passwords.verifies() - before - 1;
    println!("200 concurrent wrong-password logins from one address: {checked} password checks");
    assert!(checked <= 5, "{checked} passwords were checked");
    assert_eq!(location(&admin), "/", "the admin logs in during the attack");
    // The attacker's address is throttled, a fresh browser there too; the admin's is not.
    let fresh = app.login(&app.client(), "alice", PASSWORD).await;
    assert!(
        location(&fresh).starts_with("/login?error=throttled"),
        "{}",
        location(&fresh)
    );
    server.cleanup().await;
}

/// Failures for an admin from one address do not keep them out from another: the username
/// alone is never throttled.
async fn failures_from_elsewhere_do_not_lock_an_admin_out(app: &TestApp) {
    let server = behind_a_proxy(app).await;
    server.create_admin("alice", PASSWORD, false).await;
    let from = |address: &'static str, password: &'static str| {
        server
            .bare_client()
            .post(server.url("/login"))
            .header("x-forwarded-for", address)
            .form(&[("username", "alice"), ("password", password)])
            .send()
    };
    for _ in 0..6 {
        from("198.51.100.1", "wrong password!").await.unwrap();
    }
    let attacker_again = from("198.51.100.1", PASSWORD).await.unwrap();
    assert!(location(&attacker_again).starts_with("/login?error=throttled"));
    let admin = from("203.0.113.7", PASSWORD).await.unwrap();
    assert_eq!(
        location(&admin),
        "/",
        "the admin's own address is not locked out"
    );
    server.cleanup().await;
}

/// A second server on this test's database that reads `X-Forwarded-For` from the tests' own
/// address (127.0.0.1), as it would from a reverse proxy.
async fn behind_a_proxy(app: &TestApp) -> TestApp {
    app.another_on_same_database(|s| {
        s.trusted_proxies = app::domain::address::AllowList::parse("127.0.0.1").unwrap();
    })
    .await
}

/// Behind a trusted proxy (the tests' own 127.0.0.1), the client sends an `X-Forwarded-For`
/// line of its own, different each time; the proxy's line, which comes last, names the real
/// client, and that address is throttled after five failures.
async fn a_forged_forwarded_for_line_does_not_escape_the_address_throttle(app: &TestApp) {
    let server = behind_a_proxy(app).await;
    server.create_admin("alice", PASSWORD, false).await;
    let attempt = |n: usize, username: &'static str, password: &'static str| {
        server
            .bare_client()
            .post(server.url("/login"))
            .header("x-forwarded-for", format!("6.6.6.{n}"))
            .header("x-forwarded-for", "203.0.113.7")
            .form(&[("username", username), ("password", password)])
            .send()
    };
    for (n, name) in ["u1", "u2", "u3", "u4", "u5"].into_iter().enumerate() {
        let res = attempt(n, name, "wrong password!").await.unwrap();
        assert!(
            location(&res).contains("error=invalid"),
            "{}",
            location(&res)
        );
    }
    let res = attempt(9, "alice", PASSWORD).await.unwrap();
    assert!(
        location(&res).starts_with("/login?error=throttled"),
        "the real client's address is throttled: {}",
        location(&res)
    );
    server.cleanup().await;
}

async fn a_busy_session_still_ends_at_its_absolute_lifetime(app: &TestApp) {
    let client = app.logged_in_admin().await;
    // A request every 25 minutes keeps it from ever being idle, for 11 h 40 min.
    for _ in 0..28 {
        app.clock.advance(TimeDelta::minutes(25));
        let res = client.get(app.url("/")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // 12 h 5 min after login: over, however busy.
    app.clock.advance(TimeDelta::minutes(25));
    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"), "{}", location(&res));
}

async fn an_https_origin_makes_the_cookie_secure_and_host_prefixed(app: &TestApp) {
    let server = app
        .another_on_same_database(|s| {
            s.public_origin = Some("https://affdesk.example.com".to_owned());
        })
        .await;
    server.create_admin("carol", PASSWORD, false).await;
    let res = server.login(&server.client(), "carol", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie =
        common::set_cookie(&res, "__Host-affdesk_session").expect("a __Host- session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    server.cleanup().await;
}

async fn authenticated_answers_are_never_stored(app: &TestApp) {
    let client = app.logged_in_admin().await;
    for path in ["/", "/settings/affiliate", "/settings/api-tokens"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    let token = app
        .call(
            &client,
            app::api::signups::CreateToken {
                name: "cache-check".to_owned(),
            },
        )
        .await;
    assert_eq!(token.status(), StatusCode::OK);
    assert_eq!(token.headers()["cache-control"], "no-store");
}

async fn login_succeeds_and_shows_the_admin_shell(app: &TestApp) {
    app.create_admin("alice", PASSWORD, false).await;
    let client = app.client();
    let res = app.login(&client, "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let cookie = common::set_cookie(&res, "affdesk_session").expect("a session cookie");
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
        // A Secure cookie carries the `__Host-` prefix.
        let cookie = common::set_cookie(&res, "__Host-affdesk_session").expect("a session cookie");
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
