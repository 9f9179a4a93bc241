//! The programs `./bench/run` drives, in one binary:
//!
//! - `static`: the P1 baseline, a bare axum handler answering every GET with bytes from memory;
//! - `intake`: P2, signups posted to affdesk with a ping receiver in the same process, so a
//!   ping's arrival is timed against its signup's 201 on one clock; plus the plain-client baseline;
//! - `logins`: P4's login storm, successful logins at a fixed rate;
//! - `start-time`: P3's time from process start to `/healthz` answering 200;
//! - `report`: turns the results directory into BENCHMARKS.md.
//!
//! Every loop is bounded in count and in time: a run that stalls stops with a message naming
//! what did not arrive, never hangs.

mod intake;
mod logins;
mod report;
mod start_time;
mod static_page;
mod stats;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "affdesk-bench",
    about = "affdesk benchmark helpers (run ./bench/run)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve one file's bytes for every GET: the P1 baseline.
    Static(static_page::Args),
    /// P2: signup intake to ping, burst and steady rate, and the plain-client baseline.
    Intake(intake::Args),
    /// P4: successful logins at a fixed rate for a fixed time.
    Logins(logins::Args),
    /// P3: time from process start to /healthz 200, each start on a new database.
    StartTime(start_time::Args),
    /// Write BENCHMARKS.md from a results directory.
    Report(report::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Static(args) => static_page::run(args).await,
        Command::Intake(args) => intake::run(args).await,
        Command::Logins(args) => logins::run(args).await,
        Command::StartTime(args) => start_time::run(args).await,
        Command::Report(args) => report::run(args),
    }
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &std::path::Path, value: &serde_json::Value) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}
