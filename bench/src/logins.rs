//! P4's login storm: successful logins (form POST to /login, answered with a redirect and a new
//! session cookie) started at a fixed rate, each on its own, for a fixed time.

use crate::stats;
use anyhow::Context;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// affdesk's base URL.
    #[arg(long)]
    affdesk: String,
    #[arg(long)]
    username: String,
    /// The admin's password; an environment variable keeps it out of `ps`.
    #[arg(long, env = "AFFDESK_BENCH_PASSWORD", hide_env_values = true)]
    password: String,
    /// Logins started per second.
    #[arg(long, default_value_t = 20)]
    rate: u32,
    /// Seconds to keep starting them.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// Where to write the results (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// One login: Ok(latency in ms) when affdesk answered with a redirect away from /login and a
/// session cookie.
async fn login(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Result<f64, String> {
    let started = Instant::now();
    let response = client
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let cookie = response.headers().contains_key("set-cookie");
    if response.status().is_redirection() && !location.starts_with("/login") && cookie {
        Ok(elapsed)
    } else {
        Err(format!(
            "answered {} to {location:?} (throttled or wrong password?)",
            response.status()
        ))
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    /// Logins waiting for an answer beyond which no more are started (they are counted skipped).
    const MAX_IN_FLIGHT: usize = 100;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = Arc::new(format!("{}/login", args.affdesk.trim_end_matches('/')));
    let credentials = Arc::new((args.username.clone(), args.password.clone()));
    let count = (u64::from(args.rate) * args.secs) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    let mut latencies = Vec::with_capacity(count);
    let mut failures = Vec::new();
    let mut skipped = 0usize;
    for n in 0..count {
        tokio::time::sleep_until((start + interval * n as u32).into()).await;
        while let Some(done) = tasks.try_join_next() {
            match done.context("a login task panicked")? {
                Ok(ms) => latencies.push(ms),
                Err(e) => failures.push(e),
            }
        }
        if tasks.len() >= MAX_IN_FLIGHT {
            // affdesk is this far behind: starting more would only measure the queue.
            skipped += 1;
            continue;
        }
        let (client, url, credentials) = (client.clone(), url.clone(), credentials.clone());
        tasks.spawn(async move {
            let form = [
                ("username", credentials.0.as_str()),
                ("password", credentials.1.as_str()),
                ("next", "/"),
            ];
            login(&client, &url, &form).await
        });
    }
    let posting_secs = start.elapsed().as_secs_f64();
    let collect = async {
        while let Some(result) = tasks.join_next().await {
            match result.context("a login task panicked")? {
                Ok(ms) => latencies.push(ms),
                Err(e) => failures.push(e),
            }
        }
        Ok::<(), anyhow::Error>(())
    };
    tokio::time::timeout(Duration::from_secs(60), collect)
        .await
        .map_err(|_| anyhow::anyhow!("logins: answers did not come within 60 s of the last"))??;
    let total_secs = start.elapsed().as_secs_f64();
    let succeeded = latencies.len();
    let latency = stats::summary(&mut latencies);
    eprintln!(
        "logins: {succeeded} of {count} succeeded in {total_secs:.1} s ({skipped} not started: \
         {MAX_IN_FLIGHT} were waiting), latency p50 {:.0} ms p99 {:.0} ms",
        latency.p50, latency.p99
    );
    if let Some(first) = failures.first() {
        eprintln!("logins: {} failed, e.g. {first}", failures.len());
    }
    crate::write_json(
        &args.out,
        &json!({
            "rate_target": args.rate,
            "planned": count,
            "started": count - skipped,
            "skipped": skipped,
            "succeeded": succeeded,
            "failed": failures.len(),
            "first_failure": failures.first(),
            "achieved_rate": count as f64 / posting_secs,
            "successful_per_sec": succeeded as f64 / total_secs,
            "latency_ms": latency,
        }),
    )
}
