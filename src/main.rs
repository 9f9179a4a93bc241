use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc. Rendering a page makes thousands of small, short-lived
/// allocations: under P1's load glibc's malloc and free took 30% of affdesk's CPU
/// (`bench/profile-p1`, BENCHMARKS.md). Version 2 without transparent huge pages (Cargo.toml):
/// version 3, with huge pages, held 31 MB idle instead of 20 MB. argon2's 19 MiB blocks get
/// segments of their own and do not pile up, which with glibc took a fixed mmap threshold.
/// Freed memory is kept for reuse for a while after a burst (README: `MIMALLOC_PURGE_DELAY`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = affdesk::cli::Cli::parse();
    affdesk::telemetry::init(&cli.global);
    match affdesk::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("affdesk: {err:#}");
            ExitCode::FAILURE
        }
    }
}
