//! P3's start time: from spawning `affdesk serve` to `/healthz` answering 200, each start on a
//! database that does not exist yet (so it includes creating it, the migrations and the first
//! admin). The process inherits the caller's environment (site root, secret key, ...).

use crate::stats;
use anyhow::{bail, Context};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The affdesk binary.
    #[arg(long)]
    bin: PathBuf,
    /// Where each started affdesk listens.
    #[arg(long)]
    addr: SocketAddr,
    /// One new database per start; as many starts as URLs.
    #[arg(long = "database-url", required = true)]
    database_urls: Vec<String>,
    /// Where to write the results (JSON).
    #[arg(long)]
    out: PathBuf,
}

async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    const LIMIT: Duration = Duration::from_secs(30);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let health = format!("http://{}/healthz", args.addr);
    let mut times = Vec::new();
    for url in &args.database_urls {
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&args.bin)
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("LEPTOS_SITE_ADDR", args.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", args.bin.display()))?;
        let ready = loop {
            if let Ok(response) = client.get(&health).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    break Some(started.elapsed());
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!("affdesk exited ({status}) before /healthz answered 200");
            }
            if started.elapsed() > LIMIT {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        stop(&mut child).await;
        let Some(ready) = ready else {
            bail!("/healthz did not answer 200 within {} s", LIMIT.as_secs());
        };
        eprintln!(
            "start to /healthz 200: {:.0} ms",
            ready.as_secs_f64() * 1000.0
        );
        times.push(ready.as_secs_f64() * 1000.0);
    }
    let median = stats::median(&times);
    crate::write_json(&args.out, &json!({ "runs_ms": times, "median_ms": median }))
}
