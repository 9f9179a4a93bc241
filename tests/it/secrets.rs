//! Secrets stay secret: with every log line captured at debug level, the flows that handle a
//! secret (login, a failed login, a password change, two sessions, saving the Explodely API key,
//! creating a contract with it, creating an API token and posting a signup with it, logout) run
//! against a real server; afterwards neither the logs nor any row of any table (nor, on SQLite,
//! any byte of the database files) holds a password, the API key, a session id or an API token.

use crate::common::{self, session_cookie, spawn_explodely, Backend, LogCapture, TestApp};
use app::api::account::ChangePassword;
use app::api::contracts::{CreateContract, SaveExplodelySettings};
use app::api::signups::CreateToken;
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::time::Duration;

const OLD_PASSWORD: &str = "Old-Pass-4d1f-93ab";
const NEW_PASSWORD: &str = "New-Pass-77c2-e0d9";
const WRONG_PASSWORD: &str = "Wrong-Pass-5a5a-1b1b";
const API_KEY: &str = "EXPL-KEY-SECRET-a9f3c2e1";

async fn flows_leave_no_secret_behind(backend: Backend) {
    let logs = LogCapture::start();
    let explodely = spawn_explodely(vec![(
        200,
        r#"{"contract_created":"ok","contractid":"4242"}"#,
        0,
    )])
    .await;
    let url = explodely.url.clone();
    let Some(app) = TestApp::spawn_with(backend, move |s| {
        s.explodely_url = url;
        s.explodely_timeout = Duration::from_secs(5);
    })
    .await
    else {
        return;
    };
    // What must never be written anywhere, named for the failure message.
    let mut secrets: BTreeMap<String, String> = BTreeMap::new();
    secrets.insert("old password".into(), OLD_PASSWORD.into());
    secrets.insert("new password".into(), NEW_PASSWORD.into());
    secrets.insert("wrong password".into(), WRONG_PASSWORD.into());
    secrets.insert("Explodely API key".into(), API_KEY.into());

    common::within_limit(async {
        app.create_admin("alice", OLD_PASSWORD, false).await;

        let failed = app.client();
        let res = app.login(&failed, "alice", WRONG_PASSWORD).await;
        assert!(
            location(&res).starts_with("/login"),
            "a wrong password fails"
        );

        let (first, second) = (app.client(), app.client());
        for (n, client) in [&first, &second].into_iter().enumerate() {
            let res = app.login(client, "alice", OLD_PASSWORD).await;
            assert_eq!(location(&res), "/");
            let cookie = session_cookie(&res).expect("a session cookie");
            secrets.insert(format!("session id {n}"), cookie);
        }

        let credentials = SaveExplodelySettings {
            username: "seller1".to_owned(),
            api_key: API_KEY.to_owned(),
        };
        common::assert_accepted(&app.call(&first, credentials).await);
        let contract = CreateContract {
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
            idempotency_key: "ssssssssssssssssssssssss".to_owned(),
            confirmed_not_created: None,
        };
        common::assert_accepted(&app.call(&first, contract).await);
        assert_eq!(
            explodely.calls().len(),
            1,
            "Explodely was called with the key"
        );
        assert!(explodely.calls()[0].contains(&("apikey".to_owned(), API_KEY.to_owned())));

        let name = "billing".to_owned();
        let token: String = app
            .call(&first, CreateToken { name })
            .await
            .json()
            .await
            .unwrap();
        secrets.insert("API token".into(), token.clone());
        let signup = serde_json::json!({
            "order_id": "S-1", "account_id": "1", "user_name": "jane",
            "payment_method": "credit_card", "amount": "9.95",
        });
        assert_eq!(
            app.post_signup(&token, &signup).await.status(),
            StatusCode::CREATED
        );

        let change = ChangePassword {
            current_password: OLD_PASSWORD.to_owned(),
            new_password: NEW_PASSWORD.to_owned(),
            confirm_password: NEW_PASSWORD.to_owned(),
        };
        common::assert_accepted(&app.call(&first, change).await);
        let res = second
            .get(app.url("/settings/affiliate"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "the other session ended"
        );

        let relogin = app.client();
        let res = app.login(&relogin, "alice", NEW_PASSWORD).await;
        assert_eq!(location(&res), "/");
        secrets.insert(
            "session id after the change".into(),
            session_cookie(&res).expect("a session cookie"),
        );
        let res = relogin.post(app.url("/logout")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);

        // The logs.
        let logs = logs.text();
        assert!(logs.contains("DEBUG"), "debug lines were captured");
        assert!(
            logs.contains("request finished"),
            "request lines were captured"
        );
        for (what, secret) in &secrets {
            let line = logs.lines().find(|l| l.contains(secret.as_str()));
            assert!(line.is_none(), "the {what} is in the logs: {line:?}");
        }

        // Every row of every table, as text.
        let rows = all_rows_as_text(&app).await;
        assert!(rows.len() >= 10, "rows were read: {}", rows.len());
        for row in &rows {
            for (what, secret) in &secrets {
                assert!(
                    !row.contains(secret.as_str()),
                    "the {what} is stored: {row}"
                );
            }
        }
        // On SQLite, every byte of the database files, free pages included.
        if backend == Backend::Sqlite {
            let path = app.database_url.trim_start_matches("sqlite://").to_owned();
            if let app::server::storage::db::Db::Sqlite(pool) = &app.state.db {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await
                    .unwrap();
            }
            for file in [path.clone(), format!("{path}-wal")] {
                let Ok(bytes) = std::fs::read(&file) else {
                    continue;
                };
                for (what, secret) in &secrets {
                    assert!(
                        !contains(&bytes, secret.as_bytes()),
                        "the {what} is in {file}"
                    );
                }
            }
        }
        println!(
            "{} secrets checked against {} KB of debug logs and {} rows",
            secrets.len(),
            logs.len() / 1024,
            rows.len()
        );
    })
    .await;
    app.cleanup().await;
}

fn location(res: &reqwest::Response) -> String {
    common::location(res)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Each row of each table (sessions included), rendered as one string.
async fn all_rows_as_text(app: &TestApp) -> Vec<String> {
    use app::server::storage::db::Db;
    let mut out = Vec::new();
    match &app.state.db {
        Db::Postgres(pool) => {
            let tables: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                 WHERE table_type = 'BASE TABLE' \
                 AND table_schema NOT IN ('pg_catalog', 'information_schema')",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for (schema, table) in tables {
                let sql = format!("SELECT t::text FROM \"{schema}\".\"{table}\" t");
                let rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap();
                out.extend(rows.into_iter().map(|r| format!("{schema}.{table}: {r}")));
            }
        }
        Db::Sqlite(pool) => {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await
                    .unwrap();
            for table in tables {
                let columns: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                        .bind(&table)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let joined = columns
                    .iter()
                    .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                // As bytes: sealed values are blobs, which need not be UTF-8.
                let sql = format!("SELECT CAST({joined} AS BLOB) FROM \"{table}\"");
                let rows: Vec<Vec<u8>> = sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap();
                out.extend(
                    rows.into_iter()
                        .map(|r| format!("{table}: {}", String::from_utf8_lossy(&r))),
                );
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    flows_leave_no_secret_behind(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    flows_leave_no_secret_behind(Backend::Postgres).await;
}
