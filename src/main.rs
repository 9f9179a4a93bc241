use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc. Rendering a page makes thousands of small, short-lived
/// allocations: under P1's load glibc's malloc and free took about 28% of affdesk's CPU
/// (`bench/profile-p1`, BENCHMARKS.md). mimalloc also gives each password hash's 19 MiB argon2
/// block a segment of its own and returns it to the system after use, which glibc did only with
/// a fixed mmap threshold (resident memory otherwise rose to hundreds of megabytes in P4).
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
