//! Starts the real affdesk server on port 0 against a fresh database, the way production starts
//! it, and drives it over HTTP. Every test gets its own database: a new SQLite file, or a new
//! PostgreSQL database created on the server named by `AFFDESK_TEST_POSTGRES_URL`.

#![allow(dead_code)]

use affdesk::config::Settings;
use affdesk::startup::Application;
use app::domain::credentials::Username;
use app::server::admins;
use app::server::clock::{Clock, ManualClock};
use app::server::state::AppState;
use chrono::Utc;
use reqwest::redirect::Policy;
use sqlx::Connection;
use std::sync::Arc;

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
    pub database_url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
    server: tokio::task::JoinHandle<()>,
}

/// A fresh database URL for `backend`, or `None` when PostgreSQL tests are not configured.
/// A configured but unreachable PostgreSQL fails the test: CI must not silently skip them.
pub async fn fresh_database(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<(String, Option<(String, String)>)> {
    match backend {
        Backend::Sqlite => Some((format!("sqlite://{}/affdesk.db", dir.display()), None)),
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
                eprintln!(
                    "skipped: {POSTGRES_ENV} is not set, so this PostgreSQL test did not run"
                );
                return None;
            };
            let name = format!("affdesk_test_{}", app::server::session::random_token(8));
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| {
                    panic!("{POSTGRES_ENV} is set but PostgreSQL is unreachable: {e}")
                });
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .expect("create test database");
            conn.close().await.ok();
            let url = replace_database(&admin_url, &name);
            Some((url, Some((admin_url, name))))
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

pub async fn drop_database(postgres: Option<(String, String)>) {
    if let Some((admin_url, name)) = postgres {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, postgres) = fresh_database(backend, dir.path()).await?;
        let mut settings = Settings::for_tests(&database_url);
        adjust(&mut settings);
        let clock = ManualClock::new(Utc::now());
        let app = Application::build_with_clock(settings, Arc::new(clock.clone()))
            .await
            .expect("application builds");
        let base = format!("http://{}", app.address());
        let state = app.state().clone();
        let server = tokio::spawn(async move {
            app.run_until(std::future::pending())
                .await
                .expect("server runs");
        });
        Some(Self {
            base,
            state,
            clock,
            database_url,
            _dir: dir,
            postgres,
            server,
        })
    }

    pub async fn cleanup(self) {
        self.server.abort();
        let _ = self.server.await;
        self.state.db.close().await;
        drop_database(self.postgres).await;
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
        match admins::create(
            &self.state.db,
            &username,
            &hash,
            must_change,
            self.clock.now(),
        )
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

    /// Creates `alice` and returns a client logged in as her.
    pub async fn logged_in_admin(&self) -> reqwest::Client {
        self.create_admin("alice", PASSWORD, false).await;
        let client = self.client();
        let res = self.login(&client, "alice", PASSWORD).await;
        assert_eq!(location(&res), "/", "login should succeed");
        client
    }
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value of the session cookie a response sets, if any.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("affdesk_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// Declares each listed `async fn name(app: &TestApp)` as two tests, `name::sqlite` and
/// `name::postgres`, each on its own fresh database.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite)
                        .await
                        .expect("SQLite always runs");
                    super::$name(&app).await;
                    app.cleanup().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await else {
                        return;
                    };
                    super::$name(&app).await;
                    app.cleanup().await;
                }
            }
        )*
    };
}

/// Declares each listed `async fn name(database_url: String)` as two tests on fresh databases,
/// for code that needs a database but not a running server (the command line).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                async fn run(backend: $crate::common::Backend) {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let Some((url, postgres)) = $crate::common::fresh_database(backend, dir.path()).await else {
                        return;
                    };
                    super::$name(url).await;
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

/// A stand-in affiliate tracker on 127.0.0.1: answers 200 "tracked" and records each request's
/// path and query and its User-Agent.
pub struct Receiver {
    pub base: String,
    pub hits: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

pub async fn spawn_receiver() -> Receiver {
    use axum::extract::Request;
    let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = hits.clone();
    let router = axum::Router::new().fallback(move |req: Request| {
        let recorded = recorded.clone();
        async move {
            let agent = req
                .headers()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default();
            recorded.lock().unwrap().push((target, agent));
            "tracked"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Receiver { base, hits }
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
