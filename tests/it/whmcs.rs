//! The WHMCS module (`integrations/whmcs/affdesk.php`) without WHMCS: its php-cli harness runs
//! the module's hooks over fixtures of real WHMCS hook variables and API answers, against the
//! real affdesk binary on SQLite and PostgreSQL. PHP (Debian's php-cli and php-curl) is part of
//! the test tools: without it these tests fail, they do not skip.

use crate::common::{start_process, Backend, TestApp};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/whmcs")
}

fn php() -> std::process::Command {
    let found = std::process::Command::new("php").arg("-v").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "php is not installed: `apt-get install php-cli php-curl` (scripts/test does)"
    );
    std::process::Command::new("php")
}

/// Runs one harness step and returns its report (the last line it prints).
fn step(base: &str, token: &str, state: &Path, name: &str) -> Value {
    let out = php()
        .arg(module_dir().join("tests/harness.php"))
        .args(["--url", base, "--token", token, "--state"])
        .arg(state)
        .arg(name)
        .output()
        .expect("php runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name}: the harness failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{name}: no report ({e}): {stdout}"));
    assert_eq!(
        report["unanswered_localapi"],
        serde_json::json!([]),
        "{name}: {report}"
    );
    report
}

/// (status, path) of each call a step made.
fn sent(report: &Value) -> Vec<(i64, String)> {
    report["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_i64().unwrap_or(0),
                s["path"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The fields affdesk stored for `order_id`, and whether it counted.
async fn stored(app: &TestApp, order_id: &str) -> (Value, bool) {
    const SQL: &str = "SELECT details, eligible FROM signups WHERE order_id = $1";
    let (details, eligible): (String, bool) = app::with_pool!(&app.state.db, pool =>
        sqlx::query_as(SQL).bind(order_id).fetch_one(pool).await)
    .unwrap();
    (serde_json::from_str(&details).unwrap(), eligible)
}

async fn the_module_reports_orders_refunds_and_survives_affdesk_being_down(backend: Backend) {
    // The test's own server prepares the database (and a token); the module talks to the
    // affdesk binary started on it.
    let Some(app) = TestApp::spawn_with(backend, |s| s.run_delivery_worker = false).await else {
        return;
    };
    let token = app.api_token().await;
    app.set_links(true, &[]).await;
    let affdesk = start_process(&app.database_url).await;
    let base = affdesk.base.clone();
    let state = tempfile::tempdir().unwrap();

    let card = step(&base, &token, state.path(), "card-order");
    assert_eq!(sent(&card), [(201, "/api/v1/signups".to_owned())], "{card}");
    let (fields, counted) = stored(&app, "101").await;
    assert!(counted, "a non-moderated card order counts");
    for (field, value) in [
        ("payment_method", "credit_card"),
        ("amount", "19.95"),
        ("full_amount", "23.94"),
        ("currency", "USD"),
        ("account_id", "1"),
        ("user_name", "janeexam"),
        ("domain", "jane.example"),
        ("plan_id", "7"),
        ("plan_name", "Starter Hosting"),
        ("signup_time", "2026-11-22T10:15:00Z"),
        ("email", ""),
    ] {
        assert_eq!(fields[field], value, "{field}: {fields}");
    }
    assert_eq!(fields["moderated"], false);
    assert_eq!(fields["trial"], false);

    let paypal = step(&base, &token, state.path(), "paypal-order");
    assert_eq!(sent(&paypal)[0].0, 201, "{paypal}");
    let (fields, counted) = stored(&app, "102").await;
    assert_eq!(
        (
            fields["payment_method"].as_str(),
            fields["moderated"].as_bool()
        ),
        (Some("paypal"), Some(true))
    );
    assert!(!counted, "a PayPal order is moderated and never counts");

    let renewal = step(&base, &token, state.path(), "renewal");
    assert_eq!(sent(&renewal), [], "a renewal invoice is no signup");

    // affdesk is down during a checkout: nothing breaks, the call waits in the queue.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let down = step(&closed, &token, state.path(), "trial-order");
    assert_eq!(down["queued"], 1, "{down}");
    assert!(
        down["activity"].to_string().contains("affdesk"),
        "the failure is in WHMCS's activity log: {down}"
    );
    let cron = step(&base, &token, state.path(), "cron");
    assert_eq!(cron["queued"], 0, "{cron}");
    assert_eq!(sent(&cron), [(201, "/api/v1/signups".to_owned())]);
    let (fields, counted) = stored(&app, "103").await;
    assert_eq!(fields["trial"], true);
    assert!(counted, "a non-moderated trial counts");

    let refund = step(&base, &token, state.path(), "refund");
    let calls = sent(&refund);
    assert!(!calls.is_empty(), "{refund}");
    assert!(
        calls
            .iter()
            .all(|(status, path)| *status == 201 && path == "/api/v1/signups/101/reversals"),
        "{refund}"
    );
    const REVERSALS: &str =
        "SELECT r.reason FROM reversals r JOIN signups s ON s.id = r.signup_id \
        WHERE s.order_id = '101'";
    let reasons: Vec<String> = app::with_pool!(&app.state.db, pool =>
        sqlx::query_scalar(REVERSALS).fetch_all(pool).await)
    .unwrap();
    assert!(
        !reasons.is_empty() && reasons.iter().all(|r| r == "refund"),
        "{reasons:?}"
    );
    let mut affdesk = affdesk;
    affdesk.child.kill().await.unwrap();
    app.cleanup().await;
}

mod the_module_reports_orders_refunds_and_survives_affdesk_being_down {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        crate::common::within_limit(
            super::the_module_reports_orders_refunds_and_survives_affdesk_being_down(
                crate::common::Backend::Sqlite,
            ),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        crate::common::within_limit(
            super::the_module_reports_orders_refunds_and_survives_affdesk_being_down(
                crate::common::Backend::Postgres,
            ),
        )
        .await;
    }
}

#[test]
fn the_modules_php_passes_php_lint() {
    for file in [
        "affdesk.php",
        "affdesk_config.sample.php",
        "tests/harness.php",
    ] {
        let out = php()
            .arg("-l")
            .arg(module_dir().join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
