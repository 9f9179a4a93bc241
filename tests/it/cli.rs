//! The `affdesk` binary as an operator uses it: admin commands, migrate, and the first start on an
//! empty database.

use crate::common::location;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

pub(crate) struct Outcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) async fn affdesk(database_url: &str, args: &[&str], stdin: &str) -> Outcome {
    affdesk_with(database_url, args, stdin, &[]).await
}

async fn affdesk_with(
    database_url: &str,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_affdesk"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("AFFDESK_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("affdesk starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    Outcome {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn create(url: &str, username: &str, password: &str) -> Outcome {
    affdesk(
        url,
        &[
            "admin",
            "create",
            "--username",
            username,
            "--password-stdin",
        ],
        &format!("{password}\n"),
    )
    .await
}

on_both_databases!(
    admin_create_refuses_bad_input_with_a_clear_message,
    admin_create_and_set_password_succeed,
    migrate_prepares_an_empty_database,
    tokens_are_created_once_and_revoked,
    first_start_prints_a_one_time_password_that_logs_in_and_must_be_changed,
    backup_copies_the_database_and_its_key_or_points_to_pg_dump,
);

async fn admin_create_refuses_bad_input_with_a_clear_message(url: String) {
    let cases = [
        (
            create(&url, "Bad Name", "long enough password").await,
            "username: ",
        ),
        (
            create(&url, "Admin", "long enough password").await,
            "use 'admin' instead",
        ),
        (
            create(&url, "ab", "long enough password").await,
            "at least 3 characters",
        ),
        (
            create(&url, "alice", "short").await,
            "a password needs at least 12 characters; this one has 5",
        ),
        (
            create(&url, "alice", "").await,
            "a password needs at least 12",
        ),
        (
            affdesk(&url, &["admin", "create", "--username", "alice"], "").await,
            "--password-stdin",
        ),
    ];
    for (outcome, expected) in cases {
        assert!(!outcome.success, "must fail: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains(expected),
            "expected {expected:?} in {:?}",
            outcome.stderr
        );
    }
    let missing_flag = affdesk(&url, &["admin", "create"], "").await;
    assert!(!missing_flag.success);
    assert!(
        missing_flag.stderr.contains("--username"),
        "{}",
        missing_flag.stderr
    );

    assert!(create(&url, "alice", "long enough password").await.success);
    let duplicate = create(&url, "alice", "another long password").await;
    assert!(!duplicate.success);
    assert!(
        duplicate.stderr.contains("already exists"),
        "{}",
        duplicate.stderr
    );
    let unknown = affdesk(
        &url,
        &[
            "admin",
            "set-password",
            "--username",
            "bob",
            "--password-stdin",
        ],
        "long enough password\n",
    )
    .await;
    assert!(!unknown.success);
    assert!(
        unknown.stderr.contains("no admin is named 'bob'"),
        "{}",
        unknown.stderr
    );
}

async fn admin_create_and_set_password_succeed(url: String) {
    let created = create(&url, "ops.team", "long enough password").await;
    assert!(created.success, "{}", created.stderr);
    assert!(created.stdout.contains("admin 'ops.team' created"));
    let changed = affdesk(
        &url,
        &[
            "admin",
            "set-password",
            "--username",
            "ops.team",
            "--password-stdin",
        ],
        "a different password\r\n",
    )
    .await;
    assert!(changed.success, "{}", changed.stderr);
    assert!(changed.stdout.contains("sessions have been ended"));
}

async fn migrate_prepares_an_empty_database(url: String) {
    let first = affdesk(&url, &["migrate"], "").await;
    assert!(first.success, "{}", first.stderr);
    let again = affdesk(&url, &["migrate"], "").await;
    assert!(
        again.success,
        "migrating twice is harmless: {}",
        again.stderr
    );
}

async fn first_start_prints_a_one_time_password_that_logs_in_and_must_be_changed(url: String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_affdesk"))
        .env("DATABASE_URL", &url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("AFFDESK_LOG", "info")
        .env("AFFDESK_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("affdesk starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();

    let password = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(p) = line.split("one-time password:").nth(1) {
                return p.trim().to_owned();
            }
        }
        panic!("no one-time password printed");
    })
    .await
    .expect("password printed in time");
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            assert!(
                !line.contains(&password),
                "the password must never reach the log"
            );
            let entry: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            let message = entry["message"].as_str().unwrap_or_default();
            if let Some(rest) = message.split("listening on ").nth(1) {
                assert_eq!(entry["level"], "INFO");
                return rest.trim().to_owned();
            }
        }
        panic!("no listening line");
    })
    .await
    .expect("server listening in time");

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/login"))
        .form(&[("username", "admin"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&res),
        "/account/password",
        "the one-time password must be replaced first"
    );

    // SIGTERM stops it cleanly.
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("stops within 15 s")
        .unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // A second start does not create another admin or print a password.
    let again = affdesk(
        &url,
        &["admin", "create", "--username", "admin", "--password-stdin"],
        "long enough password\n",
    )
    .await;
    assert!(again.stderr.contains("already exists"));
}

async fn tokens_are_created_once_and_revoked(url: String) {
    let created = affdesk(&url, &["token", "create", "--name", "signup flow"], "").await;
    assert!(created.success, "{}", created.stderr);
    let token = created.stdout.trim();
    assert!(
        token.starts_with("affd_"),
        "the token alone on standard output: {token}"
    );
    let again = affdesk(&url, &["token", "create", "--name", "signup flow"], "").await;
    assert!(!again.success && again.stderr.contains("exists"));
    let bad = affdesk(&url, &["token", "create", "--name", "a/b"], "").await;
    assert!(!bad.success && bad.stderr.contains("name:"));
    assert!(
        affdesk(&url, &["token", "revoke", "--name", "signup flow"], "")
            .await
            .success
    );
    let missing = affdesk(&url, &["token", "revoke", "--name", "signup flow"], "").await;
    assert!(!missing.success && missing.stderr.contains("no token is named"));
}

async fn backup_copies_the_database_and_its_key_or_points_to_pg_dump(url: String) {
    assert!(
        create(&url, "kept-admin", "a long enough password")
            .await
            .success
    );
    let Some(db) = url.strip_prefix("sqlite://").map(std::path::PathBuf::from) else {
        let out = affdesk(&url, &["backup", "--to", "/tmp/never-written.db"], "").await;
        assert!(!out.success);
        assert!(out.stderr.contains("pg_dump"), "{}", out.stderr);
        assert!(!std::path::Path::new("/tmp/never-written.db").exists());
        return;
    };
    let dir = db.parent().unwrap().to_path_buf();
    let key = format!("{}.key", db.display());
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    let copy = dir.join("copy.db");
    let copy_arg = copy.to_str().unwrap();

    let out = affdesk(&url, &["backup", "--to", copy_arg], "").await;
    assert!(out.success, "{}", out.stderr);
    assert!(out.stdout.contains("copied the database"), "{}", out.stdout);
    // The key comes along, readable by its owner only; the copy holds the admin.
    let key_copy = dir.join("copy.db.key");
    assert_eq!(std::fs::read_to_string(&key_copy).unwrap(), "ab".repeat(32));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let copy_url = format!("sqlite://{copy_arg}");
    let again = create(&copy_url, "kept-admin", "a long enough password").await;
    assert!(!again.success, "the copy has no admin 'kept-admin'");
    assert!(again.stderr.contains("exists"), "{}", again.stderr);

    // Never over an existing file.
    let out = affdesk(&url, &["backup", "--to", copy_arg], "").await;
    assert!(!out.success);
    assert!(out.stderr.contains("never overwrites"), "{}", out.stderr);

    // A key from the environment is named, not copied.
    let second = dir.join("second.db");
    let out = affdesk_with(
        &url,
        &["backup", "--to", second.to_str().unwrap()],
        "",
        &[("AFFDESK_SECRET_KEY", &"cd".repeat(32))],
    )
    .await;
    assert!(out.success, "{}", out.stderr);
    assert!(out.stdout.contains("AFFDESK_SECRET_KEY"), "{}", out.stdout);
    assert!(second.exists() && !dir.join("second.db.key").exists());

    // No database at the URL: an error, and no empty database made on the way.
    let missing = dir.join("missing.db");
    let out = affdesk(
        &format!("sqlite://{}", missing.display()),
        &["backup", "--to", dir.join("third.db").to_str().unwrap()],
        "",
    )
    .await;
    assert!(!out.success);
    assert!(out.stderr.contains("no SQLite database"), "{}", out.stderr);
    assert!(!missing.exists());
}
