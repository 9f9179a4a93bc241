//! P2: signup intake to ping. One process holds the ping receiver and the signup clients, so a
//! ping's arrival and its signup's 201 are read from one monotonic clock.
//!
//! Links are saved (by `./bench/run`) as `http://<receiver>/ping?o=${order_id}&l=<slot>`; order
//! ids are `b<phase>-<n>`, so the receiver knows the phase, the signup and the slot of each ping
//! without any lookup. Phases: 0 the burst, 1 the steady rate, 2 the plain-client baseline.

use crate::stats::{self, Summary};
use anyhow::{bail, Context};
use axum::extract::{RawQuery, State};
use axum::routing::get;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// affdesk's base URL, e.g. http://127.0.0.1:18080
    #[arg(long)]
    affdesk: String,
    /// The API token (from `affdesk token create`); an environment variable keeps it out of `ps`.
    #[arg(long, env = "AFFDESK_BENCH_TOKEN", hide_env_values = true)]
    token: String,
    /// Where the ping receiver listens (the saved links point here).
    #[arg(long)]
    receiver: SocketAddr,
    /// Server-to-server links saved in affdesk: pings expected per signup.
    #[arg(long, default_value_t = 5)]
    links: usize,
    /// Signups in the burst.
    #[arg(long, default_value_t = 20_000)]
    signups: usize,
    /// Concurrent clients posting the burst.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Signups per second in the steady phase.
    #[arg(long, default_value_t = 500)]
    steady_rate: u32,
    /// Seconds the steady phase lasts.
    #[arg(long, default_value_t = 10)]
    steady_secs: u64,
    /// Concurrency of the baseline client: affdesk's AFFDESK_DELIVERY_CONCURRENCY.
    #[arg(long, default_value_t = 32)]
    baseline_concurrency: usize,
    /// Longest any one phase (posting and waiting for its pings) may take before the run stops.
    #[arg(long, default_value_t = 300)]
    phase_timeout_secs: u64,
    /// Where to write the results (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Arrivals of one phase: slot `n * links + (link - 1)` holds the arrival time in nanoseconds
/// since the receiver's start, plus one (0 means not arrived).
struct Phase {
    links: usize,
    arrivals: Vec<AtomicU64>,
    received: AtomicUsize,
    duplicates: AtomicUsize,
    first: AtomicU64,
    last: AtomicU64,
}

impl Phase {
    fn new(signups: usize, links: usize) -> Self {
        Self {
            links,
            arrivals: (0..signups * links).map(|_| AtomicU64::new(0)).collect(),
            received: AtomicUsize::new(0),
            duplicates: AtomicUsize::new(0),
            first: AtomicU64::new(u64::MAX),
            last: AtomicU64::new(0),
        }
    }

    fn expected(&self) -> usize {
        self.arrivals.len()
    }

    fn record(&self, n: usize, link: usize, at: u64) -> bool {
        if link == 0 || link > self.links {
            return false;
        }
        let Some(slot) = self.arrivals.get(n * self.links + link - 1) else {
            return false;
        };
        if slot
            .compare_exchange(0, at, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.received.fetch_add(1, Ordering::AcqRel);
            self.first.fetch_min(at, Ordering::AcqRel);
            self.last.fetch_max(at, Ordering::AcqRel);
        } else {
            self.duplicates.fetch_add(1, Ordering::AcqRel);
        }
        true
    }
}

struct Receiver {
    started: Instant,
    phases: Vec<Phase>,
    unknown: AtomicUsize,
}

impl Receiver {
    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64 + 1
    }

    /// `o=b<phase>-<n>&l=<link>`
    fn ping(&self, query: &str) {
        let at = self.now();
        let mut order = None;
        let mut link = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("o", v)) => order = Some(v),
                Some(("l", v)) => link = v.parse::<usize>().ok(),
                _ => {}
            }
        }
        let known = (|| {
            let (phase, n) = order?.strip_prefix('b')?.split_once('-')?;
            let phase = self.phases.get(phase.parse::<usize>().ok()?)?;
            Some(phase.record(n.parse().ok()?, link?, at))
        })();
        if known != Some(true) {
            self.unknown.fetch_add(1, Ordering::AcqRel);
        }
    }
}

async fn ping(State(receiver): State<Arc<Receiver>>, RawQuery(query): RawQuery) -> &'static str {
    receiver.ping(query.as_deref().unwrap_or_default());
    "ok"
}

/// Signup `n` of `phase`: eligible (non-moderated credit card), so every enabled link fires.
fn signup_body(phase: usize, n: usize) -> serde_json::Value {
    json!({
        "order_id": format!("b{phase}-{n}"),
        "account_id": format!("{}", 100_000 + n),
        "user_name": format!("user{n}"),
        "domain": format!("user{n}.example"),
        "plan_id": "7",
        "plan_name": "Pro",
        "amount": "19.95",
        "full_amount": "23.74",
        "currency": "USD",
        "payment_method": "credit_card",
        "moderated": false,
        "trial": false,
        "click_id": format!("aff-{n}"),
        "email": format!("user{n}@example.com"),
    })
}

struct Poster {
    client: reqwest::Client,
    url: String,
    auth: String,
    links: usize,
    started: Instant,
}

impl Poster {
    /// Posts one signup; returns (sent, 201 received) in nanoseconds since `started`, plus one.
    async fn post(&self, phase: usize, n: usize) -> anyhow::Result<(u64, u64)> {
        let body = serde_json::to_vec(&signup_body(phase, n))?;
        let sent = self.started.elapsed().as_nanos() as u64 + 1;
        let response = self
            .client
            .post(&self.url)
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .with_context(|| format!("posting signup b{phase}-{n}"))?;
        let answered = self.started.elapsed().as_nanos() as u64 + 1;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status != reqwest::StatusCode::CREATED {
            bail!("signup b{phase}-{n} answered {status}, not 201: {text}");
        }
        let answer: serde_json::Value =
            serde_json::from_str(&text).context("the 201 answer is not JSON")?;
        let queued = answer["deliveries"].as_array().map_or(0, Vec::len);
        if answer["eligible"] != json!(true) || queued != self.links {
            bail!(
                "signup b{phase}-{n} was stored with eligible={} and {queued} deliveries, \
                 expected eligible and {} (are the links saved, enabled and server-to-server, \
                 and the program switched on?): {text}",
                answer["eligible"],
                self.links
            );
        }
        Ok((sent, answered))
    }
}

/// Waits until every ping of `phase` has arrived, or the deadline passes.
async fn wait_for_pings(
    receiver: &Receiver,
    phase: usize,
    deadline: Instant,
    what: &str,
) -> anyhow::Result<()> {
    let p = &receiver.phases[phase];
    loop {
        let got = p.received.load(Ordering::Acquire);
        if got >= p.expected() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "{what}: only {got} of {} pings arrived before the time limit; check affdesk's \
                 log for failing deliveries (retries wait a minute) and the receiver's unknown \
                 count ({})",
                p.expected(),
                receiver.unknown.load(Ordering::Acquire)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn secs(from_ns: u64, to_ns: u64) -> f64 {
    to_ns.saturating_sub(from_ns) as f64 / 1e9
}

/// Delay from each signup's 201 to each of its pings, in milliseconds (negative when a ping
/// arrived before the client had read the 201).
fn delays(phase: &Phase, answered: &[u64]) -> Summary {
    let mut values: Vec<f64> = phase
        .arrivals
        .iter()
        .enumerate()
        .filter_map(|(i, at)| {
            let at = at.load(Ordering::Acquire);
            let ok = answered[i / phase.links];
            (at != 0 && ok != 0).then(|| (at as f64 - ok as f64) / 1e6)
        })
        .collect();
    stats::summary(&mut values)
}

fn latencies_ms(times: &[(u64, u64)]) -> Summary {
    let mut values: Vec<f64> = times
        .iter()
        .filter(|(s, a)| *s != 0 && *a != 0)
        .map(|(s, a)| (*a as f64 - *s as f64) / 1e6)
        .collect();
    stats::summary(&mut values)
}

async fn burst(
    poster: Arc<Poster>,
    receiver: &Receiver,
    signups: usize,
    clients: usize,
    timeout: Duration,
) -> anyhow::Result<serde_json::Value> {
    const PHASE: usize = 0;
    let deadline = Instant::now() + timeout;
    let next = Arc::new(AtomicUsize::new(0));
    let times: Arc<Vec<(AtomicU64, AtomicU64)>> = Arc::new(
        (0..signups)
            .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
            .collect(),
    );
    let start = poster.started.elapsed().as_nanos() as u64 + 1;
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let (poster, next, times) = (poster.clone(), next.clone(), times.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::AcqRel);
                if n >= signups {
                    return Ok::<(), anyhow::Error>(());
                }
                let (sent, answered) = poster.post(PHASE, n).await?;
                times[n].0.store(sent, Ordering::Release);
                times[n].1.store(answered, Ordering::Release);
            }
        });
    }
    let all = async {
        while let Some(result) = tasks.join_next().await {
            result.context("a signup client panicked")??;
        }
        Ok::<(), anyhow::Error>(())
    };
    tokio::time::timeout_at(deadline.into(), all)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "burst: {} of {signups} signups were posted within {}s",
                next.load(Ordering::Acquire).min(signups),
                timeout.as_secs()
            )
        })??;
    let times: Vec<(u64, u64)> = times
        .iter()
        .map(|(s, a)| (s.load(Ordering::Acquire), a.load(Ordering::Acquire)))
        .collect();
    let last_201 = times.iter().map(|t| t.1).max().unwrap_or(start);
    wait_for_pings(receiver, PHASE, deadline, "burst").await?;
    let phase = &receiver.phases[PHASE];
    let first_ping = phase.first.load(Ordering::Acquire);
    let last_ping = phase.last.load(Ordering::Acquire);
    let answered: Vec<u64> = times.iter().map(|t| t.1).collect();
    let pings = phase.expected();
    let intake_secs = secs(start, last_201);
    let value = json!({
        "signups": signups,
        "clients": clients,
        "pings": pings,
        "duplicate_pings": phase.duplicates.load(Ordering::Acquire),
        "intake_secs": intake_secs,
        "signups_per_sec": signups as f64 / intake_secs,
        "intake_latency_ms": latencies_ms(&times),
        "first_ping_to_last_secs": secs(first_ping, last_ping),
        "pings_per_sec": pings as f64 / secs(first_ping, last_ping),
        "first_post_to_last_ping_secs": secs(start, last_ping),
        "pings_per_sec_end_to_end": pings as f64 / secs(start, last_ping),
        "last_201_to_last_ping_secs": secs(last_201, last_ping),
        "delay_ms": delays(phase, &answered),
    });
    Ok(value)
}

async fn steady(
    poster: Arc<Poster>,
    receiver: &Receiver,
    rate: u32,
    duration: Duration,
    timeout: Duration,
) -> anyhow::Result<serde_json::Value> {
    const PHASE: usize = 1;
    /// More in flight than this means affdesk is not keeping up; the run says so and stops.
    const MAX_IN_FLIGHT: usize = 512;
    let deadline = Instant::now() + timeout;
    let count = (u64::from(rate) * duration.as_secs()) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let times: Arc<Vec<(AtomicU64, AtomicU64)>> = Arc::new(
        (0..count)
            .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
            .collect(),
    );
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    let mut late_sends = 0usize;
    for n in 0..count {
        let due = start + interval * n as u32;
        let now = Instant::now();
        if now > due + Duration::from_millis(5) {
            late_sends += 1;
        }
        tokio::time::sleep_until(due.into()).await;
        while let Some(done) = tasks.try_join_next() {
            done.context("a signup task panicked")??;
        }
        if tasks.len() >= MAX_IN_FLIGHT {
            bail!(
                "steady {rate}/s: {} signups are waiting for their 201; affdesk cannot keep up",
                tasks.len()
            );
        }
        if Instant::now() >= deadline {
            bail!("steady {rate}/s: the time limit passed while posting");
        }
        let (poster, times) = (poster.clone(), times.clone());
        tasks.spawn(async move {
            let (sent, answered) = poster.post(PHASE, n).await?;
            times[n].0.store(sent, Ordering::Release);
            times[n].1.store(answered, Ordering::Release);
            Ok::<(), anyhow::Error>(())
        });
    }
    let posting_secs = start.elapsed().as_secs_f64();
    let all = async {
        while let Some(result) = tasks.join_next().await {
            result.context("a signup task panicked")??;
        }
        Ok::<(), anyhow::Error>(())
    };
    tokio::time::timeout_at(deadline.into(), all)
        .await
        .map_err(|_| anyhow::anyhow!("steady {rate}/s: some 201s did not come in time"))??;
    wait_for_pings(receiver, PHASE, deadline, "steady").await?;
    let times: Vec<(u64, u64)> = times
        .iter()
        .map(|(s, a)| (s.load(Ordering::Acquire), a.load(Ordering::Acquire)))
        .collect();
    let answered: Vec<u64> = times.iter().map(|t| t.1).collect();
    let phase = &receiver.phases[PHASE];
    Ok(json!({
        "rate_target": rate,
        "signups": count,
        "pings": phase.expected(),
        "duplicate_pings": phase.duplicates.load(Ordering::Acquire),
        "achieved_rate": count as f64 / posting_secs,
        "late_sends": late_sends,
        "intake_latency_ms": latencies_ms(&times),
        "delay_ms": delays(phase, &answered),
    }))
}

/// The same number of GETs, to the same receiver, by a plain reqwest client at the delivery
/// worker's concurrency: what this machine can do for the ping half of P2.
async fn baseline(
    receiver: &Arc<Receiver>,
    addr: SocketAddr,
    signups: usize,
    links: usize,
    concurrency: usize,
    timeout: Duration,
) -> anyhow::Result<serde_json::Value> {
    const PHASE: usize = 2;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let total = signups * links;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let (client, next) = (client.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::AcqRel);
                if i >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let url = format!(
                    "http://{addr}/ping?o=b{PHASE}-{}&l={}",
                    i / links,
                    i % links + 1
                );
                let response = client.get(&url).send().await?;
                if !response.status().is_success() {
                    bail!("baseline GET answered {}", response.status());
                }
                response.bytes().await?;
            }
        });
    }
    let all = async {
        while let Some(result) = tasks.join_next().await {
            result.context("a baseline client panicked")??;
        }
        Ok::<(), anyhow::Error>(())
    };
    tokio::time::timeout(timeout, all)
        .await
        .map_err(|_| anyhow::anyhow!("baseline: {total} GETs did not finish in time"))??;
    let elapsed = started.elapsed().as_secs_f64();
    let phase = &receiver.phases[PHASE];
    if phase.received.load(Ordering::Acquire) != total {
        bail!(
            "baseline: the receiver counted {} of {total} GETs",
            phase.received.load(Ordering::Acquire)
        );
    }
    Ok(json!({
        "gets": total,
        "concurrency": concurrency,
        "secs": elapsed,
        "pings_per_sec": total as f64 / elapsed,
    }))
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let steady_count = (u64::from(args.steady_rate) * args.steady_secs) as usize;
    let receiver = Arc::new(Receiver {
        started: Instant::now(),
        phases: vec![
            Phase::new(args.signups, args.links),
            Phase::new(steady_count, args.links),
            Phase::new(args.signups, args.links),
        ],
        unknown: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind(args.receiver)
        .await
        .with_context(|| format!("the ping receiver cannot listen on {}", args.receiver))?;
    let app = axum::Router::new()
        .route("/ping", get(ping))
        .with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.clients.max(64))
        .build()?;
    let poster = Arc::new(Poster {
        client,
        url: format!("{}/api/v1/signups", args.affdesk.trim_end_matches('/')),
        auth: format!("Bearer {}", args.token),
        links: args.links,
        started: receiver.started,
    });
    let timeout = Duration::from_secs(args.phase_timeout_secs);

    eprintln!(
        "P2 burst: {} signups by {} clients, {} pings expected",
        args.signups,
        args.clients,
        args.signups * args.links
    );
    let burst = burst(
        poster.clone(),
        &receiver,
        args.signups,
        args.clients,
        timeout,
    )
    .await?;
    eprintln!(
        "  {:.0} signups/s accepted, {:.0} pings/s delivered, delay p50 {:.1} ms p99 {:.1} ms",
        burst["signups_per_sec"].as_f64().unwrap_or(f64::NAN),
        burst["pings_per_sec"].as_f64().unwrap_or(f64::NAN),
        burst["delay_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        burst["delay_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
    );

    eprintln!(
        "P2 steady: {} signups/s for {} s",
        args.steady_rate, args.steady_secs
    );
    let steady = steady(
        poster.clone(),
        &receiver,
        args.steady_rate,
        Duration::from_secs(args.steady_secs),
        timeout,
    )
    .await?;
    eprintln!(
        "  achieved {:.0}/s, delay p50 {:.1} ms p99 {:.1} ms",
        steady["achieved_rate"].as_f64().unwrap_or(f64::NAN),
        steady["delay_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        steady["delay_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
    );

    eprintln!(
        "P2 baseline: {} GETs by a plain reqwest client, concurrency {}",
        args.signups * args.links,
        args.baseline_concurrency
    );
    let baseline = baseline(
        &receiver,
        args.receiver,
        args.signups,
        args.links,
        args.baseline_concurrency,
        timeout,
    )
    .await?;
    eprintln!(
        "  {:.0} GETs/s",
        baseline["pings_per_sec"].as_f64().unwrap_or(f64::NAN)
    );

    crate::write_json(
        &args.out,
        &json!({
            "burst": burst,
            "steady": steady,
            "baseline": baseline,
            "unknown_pings": receiver.unknown.load(Ordering::Acquire),
        }),
    )?;
    server.abort();
    Ok(())
}
