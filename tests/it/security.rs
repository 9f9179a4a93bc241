//! Who gets in and what gets through, checked against the application's own route table: every
//! page, every server function and every hand-added route is found by asking the application
//! (the Leptos route list, the registered server functions, `startup::endpoints()`), so a route
//! added later is covered without anyone adding it here.

use crate::common::{self, location, Backend, TestApp};
use reqwest::header::{CONTENT_TYPE, ORIGIN};
use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Page,
    ServerFn,
    HandAdded,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RouteCase {
    kind: Kind,
    method: String,
    /// As declared, with parameters such as `{id}`.
    declared: String,
    /// With every parameter filled in, ready to request.
    concrete: String,
}

/// Fills route parameters (`{id}`, `:id`, `*rest`) with a value that routes.
fn concrete(path: &str) -> String {
    let filled: Vec<String> = path
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') || segment.starts_with(':') || segment.starts_with('*') {
                "1".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    let joined = filled.join("/");
    if joined.is_empty() {
        "/".to_owned()
    } else {
        joined
    }
}

/// Every route the application serves, from the application itself.
fn all_routes() -> Vec<RouteCase> {
    let mut routes = BTreeSet::new();
    for listing in affdesk::startup::routes() {
        for method in listing.methods() {
            let method = match method {
                leptos_router::Method::Get => "GET",
                leptos_router::Method::Post => "POST",
                leptos_router::Method::Put => "PUT",
                leptos_router::Method::Delete => "DELETE",
                leptos_router::Method::Patch => "PATCH",
            };
            routes.insert(RouteCase {
                kind: Kind::Page,
                method: method.to_owned(),
                declared: listing.path().to_owned(),
                concrete: concrete(listing.path()),
            });
        }
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        routes.insert(RouteCase {
            kind: Kind::ServerFn,
            method: method.to_string(),
            declared: path.to_owned(),
            concrete: concrete(path),
        });
    }
    for endpoint in affdesk::startup::endpoints() {
        routes.insert(RouteCase {
            kind: Kind::HandAdded,
            method: endpoint.method.to_string(),
            declared: endpoint.path.to_owned(),
            concrete: concrete(endpoint.path),
        });
    }
    routes.into_iter().collect()
}

/// The routes anyone may call without a session: the login page, the health check, the signup
/// intake (it checks its own bearer token) and the signup-complete page customers are sent to.
/// Static assets under /pkg/ are public too (checked separately: they exist only after a build).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/login"),
    ("POST", "/login"),
    // The second factor: it answers only a session whose password was right.
    ("GET", "/login/mfa"),
    ("POST", "/login/mfa"),
    ("GET", "/healthz"),
    ("POST", "/api/v1/signups"),
    ("POST", "/api/v1/signups/{order_id}/reversals"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/signup/complete/{token}"),
];

fn is_public(route: &RouteCase) -> bool {
    PUBLIC
        .iter()
        .any(|(m, p)| *m == route.method && *p == route.declared)
}

async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    route: &RouteCase,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let method = Method::from_bytes(route.method.as_bytes()).expect("a valid method");
    let mut request = client.request(method.clone(), app.url(&route.concrete));
    if method != Method::GET {
        request = request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("");
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

#[test]
fn the_route_table_is_found_from_the_application() {
    let routes = all_routes();
    let count = |kind: Kind| routes.iter().filter(|r| r.kind == kind).count();
    // Sanity: the three sources were all read (a broken inventory would silently check nothing).
    assert!(count(Kind::Page) >= 10, "pages: {routes:#?}");
    assert!(count(Kind::ServerFn) >= 15, "server functions: {routes:#?}");
    assert!(count(Kind::HandAdded) >= 5, "hand-added: {routes:#?}");
    for (method, path) in PUBLIC {
        assert!(
            routes
                .iter()
                .any(|r| r.method == *method && r.declared == *path),
            "the public list names {method} {path}, which the application no longer serves"
        );
    }
}

async fn every_route_but_the_public_list_refuses_a_request_without_a_session(app: &TestApp) {
    let routes = all_routes();
    let anonymous = app.bare_client();
    let mut checked = 0;
    for route in &routes {
        let res = send(&anonymous, app, route, &[]).await;
        let status = res.status();
        let what = format!("{} {} ({:?})", route.method, route.declared, route.kind);
        if is_public(route) {
            // Each answers for itself, not with the session guard's redirect.
            let expected = match (route.method.as_str(), route.declared.as_str()) {
                ("POST", "/login") => StatusCode::SEE_OTHER, // back to the form: no credentials
                ("POST", "/login/mfa") => StatusCode::SEE_OTHER, // no login waiting: start again
                ("POST", "/api/v1/signups") => StatusCode::UNAUTHORIZED, // no bearer token
                ("POST", "/api/v1/signups/{order_id}/reversals") => StatusCode::UNAUTHORIZED,
                ("GET", "/signup/complete/{token}") => StatusCode::NOT_FOUND, // unknown token
                _ => StatusCode::OK,
            };
            assert_eq!(status, expected, "{what} is public");
            assert!(!location(&res).contains("next="), "{what} is public");
            continue;
        }
        match route.kind {
            Kind::ServerFn => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
                assert_eq!(res.text().await.unwrap(), "\"Unauthorized\"", "{what}");
            }
            Kind::Page | Kind::HandAdded => {
                assert_eq!(status, StatusCode::SEE_OTHER, "{what}");
                let to = location(&res);
                assert!(to.starts_with("/login"), "{what} redirects to {to}");
                if route.method == "GET" && route.concrete != "/" {
                    let wanted = url_escape(&route.concrete);
                    assert_eq!(to, format!("/login?next={wanted}"), "{what}");
                }
            }
        }
        checked += 1;
    }
    // A session opens every page: the filled-in paths are real routes, not 404s.
    let admin = app.logged_in_admin().await;
    for route in routes
        .iter()
        .filter(|r| r.kind == Kind::Page && r.method == "GET" && !is_public(r))
    {
        let res = send(&admin, app, route, &[]).await;
        assert!(
            res.status() == StatusCode::OK || res.status() == StatusCode::NOT_FOUND,
            "GET {} with a session answered {}",
            route.concrete,
            res.status()
        );
    }
    println!(
        "checked {checked} protected routes without a session ({} routes in all, {} public)",
        routes.len(),
        routes.len() - checked
    );
}

fn url_escape(path: &str) -> String {
    app::domain::percent::encode_query([("next", path)])
        .trim_start_matches("next=")
        .to_owned()
}

async fn every_state_changing_route_refuses_cross_site_posts(app: &TestApp) {
    let admin = app.logged_in_admin().await;
    let token_count = || async {
        const SQL: &str = "SELECT COUNT(*) FROM api_tokens";
        let n: i64 =
            app::with_pool!(&app.state.db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)
                .unwrap();
        n
    };
    let tokens_before = token_count().await;
    let version_before = app::server::storage::affiliate_store::load(&app.state.db)
        .await
        .unwrap()
        .version;
    let changing: Vec<RouteCase> = all_routes()
        .into_iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD")
        .collect();
    assert!(changing.len() >= 15, "{changing:#?}");
    let foreign: [&[(&str, &str)]; 4] = [
        &[(ORIGIN.as_str(), "http://evil.example")],
        &[(ORIGIN.as_str(), "null")],
        &[("sec-fetch-site", "cross-site")],
        &[
            (ORIGIN.as_str(), "http://evil.example"),
            ("sec-fetch-site", "same-origin"),
        ],
    ];
    for route in &changing {
        for headers in foreign {
            let res = send(&admin, app, route, headers).await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{} {} with {headers:?}",
                route.method,
                route.declared
            );
        }
    }
    // Nothing changed, and the session survived the refused logout.
    assert_eq!(token_count().await, tokens_before);
    assert_eq!(
        app::server::storage::affiliate_store::load(&app.state.db)
            .await
            .unwrap()
            .version,
        version_before
    );
    let res = admin
        .get(app.url("/settings/affiliate"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Control: the same request from this site is not refused by the guard.
    let own_origin = app.base.clone();
    let res = admin
        .post(app.url("/logout"))
        .header(ORIGIN, own_origin)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    println!(
        "{} state-changing routes refused 4 kinds of cross-site POST",
        changing.len()
    );
}

async fn bodies_over_the_limit_get_413_everywhere(app: &TestApp) {
    let admin = app.logged_in_admin().await;
    let token = app.api_token().await;
    let big = format!("q={}", "x".repeat(70 * 1024));
    for path in ["/login", "/api/list_signups", "/settings/affiliate"] {
        // The server answers 413 without reading the rest of the body and then closes the
        // connection; a fresh connection per request keeps the client from reusing that one.
        let res = admin
            .post(app.url(path))
            .header(reqwest::header::CONNECTION, "close")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
    let res = app
        .bare_client()
        .post(app.url("/api/v1/signups"))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "application/json")
        .body(format!("{{\"order_id\":\"{}\"}}", "9".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn sql_metacharacters_in_searches_and_filters_change_nothing(app: &TestApp) {
    let token = app.api_token().await;
    for (order, name) in [
        ("A-1", "o'brien"),
        ("A-2", "100% real"),
        ("A-3", "under_score"),
        ("A-4", "back\\slash"),
        ("A-5", "plain"),
    ] {
        let body = serde_json::json!({
            "order_id": order, "account_id": "1", "user_name": name,
            "payment_method": "credit_card", "amount": "1.00",
        });
        assert_eq!(
            app.post_signup(&token, &body).await.status(),
            StatusCode::CREATED
        );
    }
    let admin = app.logged_in_admin().await;
    let search = |eligible: &'static str, delivery: &'static str, q: &'static str| {
        let admin = admin.clone();
        let url = app.url("/api/list_signups");
        async move {
            let res = admin
                .post(url)
                .form(&[
                    ("eligible", eligible),
                    ("delivery", delivery),
                    ("q", q),
                    ("page", "1"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "search {q:?}");
            let body: serde_json::Value = res.json().await.unwrap();
            let mut orders: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["order_id"].as_str().unwrap().to_owned())
                .collect();
            orders.sort();
            orders
        }
    };
    assert_eq!(search("", "", "'").await, ["A-1"]);
    assert_eq!(search("", "", "%").await, ["A-2"]);
    assert_eq!(search("", "", "_").await, ["A-3"]);
    assert_eq!(search("", "", "\\").await, ["A-4"]);
    assert!(search("", "", "' OR '1'='1").await.is_empty());
    assert!(search("", "", "x' OR 1=1 --").await.is_empty());
    assert!(search("", "", "\"; DROP TABLE signups; --")
        .await
        .is_empty());
    assert!(
        search("", "", "%' UNION SELECT password_hash FROM admins --")
            .await
            .is_empty()
    );
    // Unknown filter values are ignored, not interpolated: all five come back.
    assert_eq!(search("yes' OR 1=1 --", "", "").await.len(), 5);
    assert_eq!(
        search("", "delivered'; DELETE FROM signups; --", "")
            .await
            .len(),
        5
    );
    assert_eq!(
        search("", "", "").await.len(),
        5,
        "every signup is still there"
    );
}

on_both_backends!(
    every_route_but_the_public_list_refuses_a_request_without_a_session,
    every_state_changing_route_refuses_cross_site_posts,
    bodies_over_the_limit_get_413_everywhere,
    sql_metacharacters_in_searches_and_filters_change_nothing,
    a_thousand_idle_connections_do_not_keep_an_admin_out,
    script_payloads_come_back_escaped_in_every_page_that_shows_them,
);

const IMG: &str = "\"><img src=x onerror=alert(1)>";
const SCRIPT: &str = "</script><script>alert(2)</script>";

/// The server-rendered HTML, including the serialized resource data that hydration reads from
/// inline scripts, never carries a payload as markup. (The browser test checks the same pages
/// with a live DOM.)
async fn script_payloads_come_back_escaped_in_every_page_that_shows_them(app: &TestApp) {
    let tracker = common::spawn_scripted_receiver(vec![500]).await;
    let link = format!(
        "{}/t?o=${{order_id}}&x=\"><img/src=x/onerror=alert(3)>",
        tracker.base
    );
    app.set_links(
        true,
        &[(&link, app::domain::affiliate::DeliveryMode::ServerToServer)],
    )
    .await;
    let token = app.api_token().await;
    let body = serde_json::json!({
        "order_id": "XSS-1", "account_id": "1", "payment_method": "credit_card",
        "amount": "1.00", "user_name": IMG, "domain": SCRIPT, "plan_name": IMG,
        "click_id": SCRIPT,
    });
    assert_eq!(
        app.post_signup(&token, &body).await.status(),
        StatusCode::CREATED
    );
    let admin = app.logged_in_admin().await;
    const ID: &str = "SELECT id FROM signups WHERE order_id = 'XSS-1'";
    let id: i64 =
        app::with_pool!(&app.state.db, pool => sqlx::query_scalar(ID).fetch_one(pool).await)
            .unwrap();
    for path in [
        "/settings/affiliate".to_owned(),
        "/signups".to_owned(),
        format!("/signups/{id}"),
    ] {
        let html = admin
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for raw in [
            "<img src=x onerror",
            "<img/src=x/onerror",
            "</script><script>alert",
        ] {
            assert!(!html.contains(raw), "{path} carries {raw:?} as markup");
        }
        assert!(
            html.contains("onerror=alert"),
            "{path} shows the payload (escaped): nothing was dropped"
        );
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_headers_slowly_is_cut_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.header_timeout = Duration::from_secs(1)
    })
    .await
    .unwrap();
    common::within_limit(async {
        let addr = app.base.trim_start_matches("http://").to_owned();

        // One header line every 300 ms: each byte arrives well within any per-read timeout, but
        // the headers never finish.
        let mut slow = TcpStream::connect(&addr).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        let mut cut_off = None;
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let line = format!("X-Slow-{i}: yes\r\n");
            if slow.write_all(line.as_bytes()).await.is_err() {
                cut_off = Some(started.elapsed());
                break;
            }
            let mut probe = [0u8; 256];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await
            {
                // Closed (0) or answered with an error status, then closed.
                let _ = n;
                cut_off = Some(started.elapsed());
                break;
            }
        }
        let cut_off = cut_off.expect("a client trickling headers for 12 s was never cut off");
        println!("slow-header client cut off after {cut_off:?} (header timeout 1 s)");
        assert!(cut_off < Duration::from_secs(5), "{cut_off:?}");

        // A connection that never sends anything is closed too.
        let mut silent = TcpStream::connect(&addr).await.unwrap();
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(10), read_until_closed(&mut silent))
            .await
            .expect("a silent connection was never closed");
        println!("silent connection closed after {:?}", started.elapsed());

        // And an ordinary request on a fresh connection is unaffected.
        let res = app
            .bare_client()
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    })
    .await;
    app.cleanup().await;
}

/// Issue 17 (#10): a body trickled a few bytes at a time (each read well within any per-read
/// timeout) is cut off with 408 once AFFDESK_BODY_TIMEOUT has passed since its headers. Before
/// the fix the connection was held for as long as the client kept trickling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_a_body_slowly_is_cut_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.body_timeout = Duration::from_secs(1))
        .await
        .unwrap();
    common::within_limit(async {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut slow = TcpStream::connect(&addr).await.unwrap();
        slow.write_all(
            b"POST /api/v1/signups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{",
        )
        .await
        .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow.write_all(b"  ").await.is_err() {
                break;
            }
            let mut probe = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&probe[..n]);
                    break;
                }
                Err(_) => {}
            }
        }
        let cut_off = started.elapsed();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        println!("slow-body client cut off after {cut_off:?} (body timeout 1 s): {answer:?}");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(cut_off < Duration::from_secs(5), "{cut_off:?}");
    })
    .await;
    app.cleanup().await;
}

/// Issue 17 (#10): one address holds at most AFFDESK_MAX_CONNECTIONS_PER_ADDRESS connections
/// (one more is closed at once, and another address is served), and all addresses together at
/// most AFFDESK_MAX_CLIENT_CONNECTIONS (the next client waits until one closes). Before the fix
/// every connection was accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_per_address_and_in_all() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.max_connections_per_address = 3;
        s.max_client_connections = 6;
    })
    .await
    .unwrap();
    common::within_limit(async {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(connect_from([127, 0, 2, 1], &addr).await);
        }
        // The fourth from that address is closed without an answer.
        let mut fourth = connect_from([127, 0, 2, 1], &addr).await;
        let _ = fourth
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let read = tokio::time::timeout(Duration::from_secs(5), read_until_closed(&mut fourth))
            .await
            .expect("the connection over the address's share was left open");
        assert!(read.is_empty(), "{:?}", String::from_utf8_lossy(&read));
        // Another address is served.
        let mut other = connect_from([127, 0, 2, 2], &addr).await;
        other
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut other).await;
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
        // Six open in all: a seventh client waits, and is served once one closes.
        for source in [[127, 0, 2, 3], [127, 0, 2, 3], [127, 0, 2, 4]] {
            held.push(connect_from(source, &addr).await);
        }
        let mut waiting = connect_from([127, 0, 2, 5], &addr).await;
        waiting
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut probe = [0u8; 64];
        let early =
            tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut probe)).await;
        assert!(early.is_err(), "a client over the cap was served at once");
        drop(held.pop());
        let answer = tokio::time::timeout(Duration::from_secs(5), read_until_closed(&mut waiting))
            .await
            .expect("the waiting client was not served after a connection closed");
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    })
    .await;
    app.cleanup().await;
}

/// A connection to the test server from `source` (any 127.x address is this machine's).
async fn connect_from(source: [u8; 4], addr: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::from((source, 0)))
        .unwrap();
    socket
        .connect(addr.parse().unwrap())
        .await
        .expect("connect (is the open-file limit, `ulimit -n`, above 2,100?)")
}

async fn a_thousand_idle_connections_do_not_keep_an_admin_out(app: &TestApp) {
    // Room for all of them: this measures that idle connections cost the admin nothing, not
    // the caps (the next tests).
    let app = app
        .another_on_same_database(|s| s.max_client_connections = 4096)
        .await;
    let admin = app.logged_in_admin().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::with_capacity(1000);
    // From 20 addresses, 50 each: within each address's share.
    for i in 0..1000 {
        idle.push(connect_from([127, 0, 1, 10 + (i % 20) as u8], &addr).await);
    }
    // Half of them also started a request and stalled mid-headers.
    for stream in idle.iter_mut().step_by(2) {
        stream
            .write_all(b"GET /settings/affiliate HTTP/1.1\r\n")
            .await
            .unwrap();
    }
    let started = Instant::now();
    let res = admin
        .get(app.url("/settings/affiliate"))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Affiliate"));
    println!("with 1,000 idle connections open, the admin's page loaded in {took:?}");
    drop(idle);
    app.cleanup().await;
}
