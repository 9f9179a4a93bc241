//! Starts the real affdesk server on port 0 against a fresh database, the way production starts
//! it, and drives it over HTTP. Every test gets its own database: a new SQLite file, or a new
//! PostgreSQL database created on the server named by `AFFDESK_TEST_POSTGRES_URL` and dropped
//! again when the test ends, also when it fails.

pub mod mail;

use affdesk::config::Settings;
use affdesk::startup::Application;
use app::domain::credentials::Username;
use app::domain::states::AuditKind;
use app::server::clock::{Clock, ManualClock};
use app::server::state::AppState;
use app::server::storage::admins;
use app::server::storage::audit_log::{Actor, AuditEvent};
use chrono::Utc;
use leptos::server_fn::{ContentType, Http, ServerFn};
use reqwest::redirect::Policy;
use serde::Serialize;
use sqlx::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub const POSTGRES_ENV: &str = "AFFDESK_TEST_POSTGRES_URL";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: ManualClock,
    /// The Prometheus metrics listener's address, when the test turned it on.
    pub metrics: Option<std::net::SocketAddr>,
    pub database_url: String,
    _dir: tempfile::TempDir,
    server: Option<tokio::task::JoinHandle<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The PostgreSQL database this server was started on, if it owns one (declared last, so it
    /// is dropped last when a failing test drops the whole `TestApp`).
    postgres: Option<PostgresDatabase>,
}

/// A PostgreSQL database created for one test, dropped (`DROP DATABASE ... WITH (FORCE)`) with
/// this guard: by [`PostgresDatabase::remove`] where a test ends normally, and otherwise when the
/// guard is dropped, which also happens while a failing test unwinds. Failed runs leave no
/// databases behind on the PostgreSQL server.
pub struct PostgresDatabase {
    /// (admin URL, database name); `None` once the database is dropped.
    target: Option<(String, String)>,
}

impl PostgresDatabase {
    /// Drops the database now, on the caller's runtime.
    pub async fn remove(mut self) {
        if let Some((admin_url, name)) = self.target.take() {
            drop_named_database(&admin_url, &name).await;
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.target.take() else {
            return;
        };
        // Drop may run on a tokio runtime's thread, where blocking on a future is not allowed:
        // the DROP DATABASE runs on a thread of its own, on a runtime of its own, and is waited
        // for here.
        let dropping = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database on");
            runtime.block_on(async {
                let dropped = drop_named_database(&admin_url, &name);
                if tokio::time::timeout(Duration::from_secs(30), dropped)
                    .await
                    .is_err()
                {
                    eprintln!("the test database {name} was not dropped within 30 s");
                }
            });
        });
        if dropping.join().is_err() {
            eprintln!("dropping a test database failed");
        }
    }
}

/// A fresh database URL for `backend`, or `None` when PostgreSQL tests are not configured.
/// A configured but unreachable PostgreSQL fails the test: CI must not silently skip them.
pub async fn fresh_database(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<(String, Option<PostgresDatabase>)> {
    match backend {
        Backend::Sqlite => Some((format!("sqlite://{}/affdesk.db", dir.display()), None)),
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
                eprintln!(
                    "skipped: {POSTGRES_ENV} is not set, so this PostgreSQL test did not run"
                );
                return None;
            };
            let name = format!(
                "affdesk_test_{}",
                app::server::security::tokens::random_token(8)
            );
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| {
                    panic!("{POSTGRES_ENV} is set but PostgreSQL is unreachable: {e}")
                });
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let url = replace_database(&admin_url, &name);
            let database = PostgresDatabase {
                target: Some((admin_url, name)),
            };
            conn.close().await.ok();
            Some((url, Some(database)))
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Drops a test's PostgreSQL database, if it has one (the explicit end of a test; a test that
/// fails before this drops it through [`PostgresDatabase`]'s `Drop`).
pub async fn drop_database(postgres: Option<PostgresDatabase>) {
    if let Some(database) = postgres {
        database.remove().await;
    }
}

async fn drop_named_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        conn.close().await.ok();
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, postgres) = fresh_database(backend, dir.path()).await?;
        Some(
            Self::spawn_on(
                database_url,
                dir,
                postgres,
                ManualClock::new(Utc::now()),
                adjust,
            )
            .await,
        )
    }

    /// Another server on this test's database and clock (a second instance, or a restart).
    pub async fn another_on_same_database(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_on(
            self.database_url.clone(),
            tempfile::tempdir().unwrap(),
            None,
            self.clock.clone(),
            adjust,
        )
        .await
    }

    async fn spawn_on(
        database_url: String,
        dir: tempfile::TempDir,
        postgres: Option<PostgresDatabase>,
        clock: ManualClock,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = Settings::for_tests(&database_url);
        adjust(&mut settings);
        let app = Application::build_with_clock(settings, Arc::new(clock.clone()))
            .await
            .expect("application builds");
        let base = format!("http://{}", app.address());
        let metrics = app.metrics_address();
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            base,
            metrics,
            state,
            clock,
            database_url,
            _dir: dir,
            server: Some(server),
            stop: Some(stop),
            postgres,
        }
    }

    /// Stops the server as SIGTERM would: in-flight work finishes, the worker stops. The test
    /// database stays until `cleanup`.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(20), server).await;
        }
    }

    /// Stops the server and drops its database (a test that fails before this leaves the
    /// database to [`PostgresDatabase`]'s `Drop`).
    pub async fn cleanup(mut self) {
        self.stop().await;
        self.state.db.close().await;
        drop_database(self.postgres.take()).await;
    }

    /// Calls the server function `F` as `client`, with `args` (the function's generated argument
    /// struct) encoded the way the function reads them: a URL-encoded form for the default
    /// `#[server]` codec, JSON for `input = Json`. Tests that check the wire format itself (odd
    /// or missing bodies, field names) post by hand instead.
    pub async fn call<F>(&self, client: &reqwest::Client, args: F) -> reqwest::Response
    where
        F: ServerFn + Serialize,
        F::Protocol: ArgumentEncoding,
    {
        let request = client.post(self.url(F::PATH));
        let request = match <F::Protocol as ArgumentEncoding>::CONTENT_TYPE {
            "application/x-www-form-urlencoded" => request.form(&args),
            "application/json" => request.json(&args),
            other => panic!("{}: the tests cannot send a {other} body", F::PATH),
        };
        request.send().await.expect("server function request")
    }

    /// Runs the real delivery worker's claim-and-call loop on this test's database and clock
    /// until nothing is due, and returns how many deliveries it called. Deterministic where a
    /// sleep would only hope: after it, whatever was due has been tried (by it, or by the
    /// server's own worker, whose claims it cannot take).
    pub async fn drain_deliveries(&self) -> usize {
        let worker = app::server::worker::delivery::DeliveryWorker::new(
            self.state.delivery_context(),
            Default::default(),
        );
        let mut total = 0;
        loop {
            let n = worker.run_once().await;
            if n == 0 {
                break total;
            }
            total += n;
        }
    }

    /// Runs the real alert worker once on this test's database and clock: looks at the links
    /// (the quiet hour, reminders) and sends every alert due. Returns how many it tried.
    pub async fn drain_alerts(&self) -> usize {
        app::server::worker::alerts::AlertWorker::new(self.state.alert_context())
            .run_once()
            .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client")
    }

    /// A client that sends only the cookies a test gives it.
    pub fn bare_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client")
    }

    pub async fn create_admin(&self, username: &str, password: &str, must_change: bool) -> i64 {
        let hash = self.state.passwords.hash(password).await.expect("hash");
        let username = Username::parse(username).expect("valid username");
        let audit = self.audit(AuditKind::AdminCreated, "test admin created");
        match admins::create(&self.state.db, &username, &hash, must_change, &audit)
            .await
            .expect("insert admin")
        {
            admins::CreateOutcome::Created(id) => id,
            admins::CreateOutcome::UsernameTaken => panic!("admin {username} exists"),
        }
    }

    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
        next: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("next", next),
            ])
            .send()
            .await
            .expect("login request")
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        self.login_with(client, username, password, "").await
    }

    /// An audit event by `tests` at the test clock's now, for writes a test makes directly.
    pub fn audit(&self, kind: AuditKind, summary: &str) -> AuditEvent {
        Actor {
            name: "tests".to_owned(),
            address: "local".to_owned(),
        }
        .event(kind, summary, self.clock.now())
    }

    /// A fresh API token for the intake endpoint.
    pub async fn api_token(&self) -> String {
        let audit = self.audit(AuditKind::TokenCreated, "test token created");
        match app::server::storage::api_tokens::create(&self.state.db, "tests", &audit)
            .await
            .expect("create token")
        {
            app::server::storage::api_tokens::CreateToken::Created { token } => token,
            app::server::storage::api_tokens::CreateToken::NameTaken => panic!("token exists"),
        }
    }

    /// Saves the Affiliate Program settings directly: the switch and up to five links.
    pub async fn set_links(
        &self,
        program_enabled: bool,
        links: &[(&str, app::domain::affiliate::DeliveryMode)],
    ) {
        use app::domain::affiliate::{AffiliateInput, SlotInput};
        let mut input = AffiliateInput {
            program_enabled,
            ..AffiliateInput::default()
        };
        for (slot, (url, mode)) in input.slots.iter_mut().zip(links) {
            *slot = SlotInput {
                url: (*url).to_owned(),
                enabled: true,
                mode: *mode,
                ..SlotInput::default()
            };
        }
        self.save_settings(&input).await;
    }

    /// Saves the Affiliate Program settings as an admin's save would.
    pub async fn save_settings(&self, input: &app::domain::affiliate::AffiliateInput) {
        use app::server::storage::affiliate_store;
        input.validate().expect("valid test links");
        let version = affiliate_store::load(&self.state.db).await.unwrap().version;
        let audit = self.audit(AuditKind::AffiliateSaved, "test links saved");
        affiliate_store::save(&self.state.db, input, version, &audit)
            .await
            .unwrap();
    }

    /// The program on, with one server-to-server link to `{base}/s?o=${order_id}`.
    pub async fn set_one_server_link(&self, base: &str) {
        let link = format!("{base}/s?o=${{order_id}}");
        self.set_links(
            true,
            &[(&link, app::domain::affiliate::DeliveryMode::ServerToServer)],
        )
        .await;
    }

    pub async fn post_signup(&self, token: &str, body: &serde_json::Value) -> reqwest::Response {
        self.signup_post(token, body).await
    }

    /// The intake request as a future that borrows nothing, to spawn several at once.
    pub fn signup_post(
        &self,
        token: &str,
        body: &serde_json::Value,
    ) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static {
        let request = self
            .bare_client()
            .post(self.url("/api/v1/signups"))
            .bearer_auth(token)
            .json(body);
        async move { request.send().await.expect("intake request") }
    }

    /// (delivery id, state, tries) of every delivery, oldest first.
    pub async fn deliveries(&self) -> Vec<(i64, String, i32)> {
        const SQL: &str = "SELECT id, state, tries FROM deliveries ORDER BY id";
        app::with_pool!(&self.state.db, pool => sqlx::query_as(SQL).fetch_all(pool).await).unwrap()
    }

    /// The body of `GET path` as `client` sees it.
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A client logged in as an existing admin.
    pub async fn logged_in_admin_with(&self, username: &str, password: &str) -> reqwest::Client {
        let client = self.client();
        let res = self.login(&client, username, password).await;
        assert_eq!(location(&res), "/", "login should succeed");
        client
    }

    /// Creates `alice` and returns a client logged in as her.
    pub async fn logged_in_admin(&self) -> reqwest::Client {
        let exists = admins::find_by_username(&self.state.db, "alice")
            .await
            .expect("lookup")
            .is_some();
        if !exists {
            self.create_admin("alice", PASSWORD, false).await;
        }
        let client = self.client();
        let res = self.login(&client, "alice", PASSWORD).await;
        assert_eq!(location(&res), "/", "login should succeed");
        client
    }
}

/// The content type a server function's arguments travel in, read from its protocol: the
/// `#[server]` macro's `Http<Input, Output>`, whose input codec names it.
pub trait ArgumentEncoding {
    const CONTENT_TYPE: &'static str;
}

impl<Input: ContentType, Output> ArgumentEncoding for Http<Input, Output> {
    const CONTENT_TYPE: &'static str = Input::CONTENT_TYPE;
}

/// A plain-form post was accepted: the page answered, or redirected on as after a save.
#[track_caller]
pub fn assert_accepted(res: &reqwest::Response) {
    let status = res.status();
    assert!(
        status.is_success() || status.is_redirection(),
        "expected 2xx or 3xx, got {status}"
    );
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value of the session cookie a response sets, if any.
/// The whole `Set-Cookie` line (value and attributes) of cookie `name`.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| {
            c.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('='))
        })
        .map(str::to_owned)
}

pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("affdesk_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// Runs a test body, failing it after two minutes: a hang must fail the suite, not stall CI.
pub async fn within_limit<F: std::future::Future<Output = ()>>(body: F) {
    if tokio::time::timeout(std::time::Duration::from_secs(120), body)
        .await
        .is_err()
    {
        panic!("the test did not finish within 120 s");
    }
}

/// Declares each listed `async fn name(app: &TestApp)` as two tests, `name::sqlite` and
/// `name::postgres`, each on its own fresh database. (`main.rs` declares `common` with
/// `#[macro_use]`, so every area module declared after it can use this by name.)
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        on_both_backends_with!(|_| {}; $($name),*);
    };
}

/// [`on_both_backends`] with the servers' settings adjusted first (e.g. their own delivery
/// worker off, so a test drives every call itself).
macro_rules! on_both_backends_with {
    ($adjust:expr; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::common::TestApp::spawn_with($crate::common::Backend::Sqlite, $adjust)
                        .await
                        .expect("SQLite always runs");
                    $crate::common::within_limit(super::$name(&app)).await;
                    app.cleanup().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = $crate::common::TestApp::spawn_with($crate::common::Backend::Postgres, $adjust).await else {
                        return;
                    };
                    $crate::common::within_limit(super::$name(&app)).await;
                    app.cleanup().await;
                }
            }
        )*
    };
}

/// Declares each listed `async fn name(database_url: String)` as two tests on fresh databases,
/// for code that needs a database but not a running server (the command line).
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                async fn run(backend: $crate::common::Backend) {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let Some((url, postgres)) = $crate::common::fresh_database(backend, dir.path()).await else {
                        return;
                    };
                    $crate::common::within_limit(super::$name(url)).await;
                    $crate::common::drop_database(postgres).await;
                }

                #[tokio::test]
                async fn sqlite() {
                    run($crate::common::Backend::Sqlite).await;
                }

                #[tokio::test]
                async fn postgres() {
                    run($crate::common::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// affdesk as its own process (the real binary), for tests that kill it or run other programs
/// against it.
pub struct Process {
    pub child: tokio::process::Child,
    pub base: String,
}

pub const DELIVERY_CONCURRENCY: usize = 32;

pub async fn start_process(database_url: &str) -> Process {
    use std::time::Duration;
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_affdesk"))
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("AFFDESK_LOG", "info")
        .env("AFFDESK_LOG_FORMAT", "json")
        .env("AFFDESK_SECRET_KEY", "00".repeat(32))
        .env("AFFDESK_OUTBOUND_ALLOW", "127.0.0.0/8")
        // One tracker host takes all five links here; let it have every delivery slot.
        .env(
            "AFFDESK_DELIVERY_CONCURRENCY",
            DELIVERY_CONCURRENCY.to_string(),
        )
        .env(
            "AFFDESK_DELIVERY_PER_HOST",
            DELIVERY_CONCURRENCY.to_string(),
        )
        // Leases last four call timeouts: a killed process's deliveries are retried after 8 s.
        .env("AFFDESK_DELIVERY_TIMEOUT", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("affdesk starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let message = entry["message"].as_str().unwrap_or_default();
            if let Some(rest) = message.split("listening on ").nth(1) {
                return rest.trim().to_owned();
            }
        }
        panic!("affdesk exited before listening");
    })
    .await
    .expect("affdesk listens within 30 s");
    // Keep reading its log so a full pipe never blocks it.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    Process { child, base }
}

/// What a stand-in tracker saw of one request.
#[derive(Debug, Clone)]
pub struct Hit {
    pub target: String,
    pub user_agent: String,
    pub idempotency_key: String,
}

/// A stand-in affiliate tracker on 127.0.0.1. It answers each request with the next status of
/// its script (the last one repeats; 0 means hang without answering) and records every request.
pub struct Receiver {
    pub base: String,
    pub hits: std::sync::Arc<std::sync::Mutex<Vec<Hit>>>,
}

impl Receiver {
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

pub async fn spawn_receiver() -> Receiver {
    spawn_scripted_receiver(vec![200]).await
}

pub async fn spawn_scripted_receiver(script: Vec<u16>) -> Receiver {
    use axum::extract::Request;
    use axum::response::IntoResponse;
    let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Hit>::new()));
    let recorded = hits.clone();
    let router = axum::Router::new().fallback(move |req: Request| {
        let recorded = recorded.clone();
        let script = script.clone();
        async move {
            // Read what is needed and let the request go before any await point.
            let hit = {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                Hit {
                    target: req
                        .uri()
                        .path_and_query()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    user_agent: header("user-agent"),
                    idempotency_key: header("idempotency-key"),
                }
            };
            drop(req);
            let n = {
                let mut hits = recorded.lock().unwrap();
                hits.push(hit);
                hits.len()
            };
            let status = script.get(n - 1).or(script.last()).copied().unwrap_or(200);
            if status == 0 {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
            let status = axum::http::StatusCode::from_u16(status.max(200)).unwrap();
            (status, "tracked").into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Receiver { base, hits }
}

/// Every form body the Explodely stand-in received, in order.
pub type Calls = std::sync::Arc<std::sync::Mutex<Vec<Vec<(String, String)>>>>;

/// A stand-in for the Explodely endpoint: records each form body and answers with the next
/// scripted (status, body, delay in ms); the last answer repeats.
pub struct Explodely {
    pub url: String,
    pub calls: Calls,
}

pub async fn spawn_explodely(script: Vec<(u16, &'static str, u64)>) -> Explodely {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    let router = axum::Router::new().route(
        "/api/v1/aff",
        axum::routing::post(move |body: String| {
            let recorded = recorded.clone();
            let script = script.clone();
            async move {
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_str(&body).unwrap_or_default();
                let n = {
                    let mut calls = recorded.lock().unwrap();
                    calls.push(form);
                    calls.len()
                };
                let (status, reply, delay) = script.get(n - 1).or(script.last()).copied().unwrap();
                tokio::time::sleep(Duration::from_millis(delay)).await;
                (axum::http::StatusCode::from_u16(status).unwrap(), reply)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/aff", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Explodely { url, calls }
}

impl Explodely {
    pub fn calls(&self) -> Vec<Vec<(String, String)>> {
        self.calls.lock().unwrap().clone()
    }
}

/// Every log line this process writes at debug level while the capture lives, to prove secrets
/// stay out of logs. All tests share one process, so the tracing subscriber is process-wide: it
/// is installed by the first capture and keeps lines only while at least one capture is alive
/// (other tests then log nothing and keep nothing). A capture reads what was written since it
/// started, by its own test and by the tests running beside it.
pub struct LogCapture {
    start: usize,
}

/// The lines written while captures are alive, and how many are.
struct Captured {
    alive: usize,
    text: Vec<u8>,
}

static CAPTURED: Mutex<Captured> = Mutex::new(Captured {
    alive: 0,
    text: Vec::new(),
});

/// Whether a capture is alive, for the subscriber's filter to read without a lock.
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// The captured lines; a test that failed while holding them does not take the others down.
fn captured() -> MutexGuard<'static, Captured> {
    CAPTURED.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LogCapture {
    pub fn start() -> Self {
        static SUBSCRIBER: std::sync::Once = std::sync::Once::new();
        SUBSCRIBER.call_once(install_capturing_subscriber);
        let mut captured = captured();
        captured.alive += 1;
        CAPTURING.store(true, Ordering::SeqCst);
        LogCapture {
            start: captured.text.len(),
        }
    }

    /// The log lines written since this capture started.
    pub fn text(&self) -> String {
        let captured = captured();
        let since = captured.text.get(self.start..).unwrap_or_default();
        String::from_utf8_lossy(since).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        let mut captured = captured();
        captured.alive -= 1;
        if captured.alive == 0 {
            CAPTURING.store(false, Ordering::SeqCst);
            captured.text = Vec::new();
        }
    }
}

/// The process-wide subscriber behind [`LogCapture`]: debug and above, except the tests' own
/// browser-like clients' cookie jar (it logs the cookies it receives; the server never uses
/// one), and only while a capture is alive. That last part is decided per event, not cached
/// per call site, as captures come and go.
fn install_capturing_subscriber() {
    use tracing_subscriber::filter::{dynamic_filter_fn, LevelFilter};
    use tracing_subscriber::prelude::*;
    let while_capturing = dynamic_filter_fn(|meta, _| {
        CAPTURING.load(Ordering::Relaxed)
            && *meta.level() <= tracing::Level::DEBUG
            && !meta.target().starts_with("cookie_store")
    })
    .with_max_level_hint(LevelFilter::DEBUG);
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(|| LogSink)
        .with_filter(while_capturing);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut captured = captured();
        // A line formatted just as the last capture ended belongs to nobody.
        if captured.alive > 0 {
            captured.text.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Polls `check` every 50 ms until it holds, failing the test after `secs` seconds.
pub async fn wait_until<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced_keeping_the_query() {
        assert_eq!(
            super::replace_database(
                "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
                "t1"
            ),
            "postgres://postgres@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://u@h", "t1"),
            "postgres://u@h/t1"
        );
    }
}
