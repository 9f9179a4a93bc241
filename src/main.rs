use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    keep_large_blocks_out_of_the_heap();
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

/// Each password hash (argon2id, m = 19 MiB) allocates a 19 MiB block. glibc raises its mmap
/// threshold to the size of the largest mmapped block freed, so after the first login these
/// blocks come from the heap, which keeps them after free: resident memory rose from 36 MB to
/// 375-573 MB during 20 logins a second and stayed there (BENCHMARKS.md, P3). A fixed threshold
/// keeps blocks of 1 MiB and more in their own mappings, returned to the system when freed.
fn keep_large_blocks_out_of_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; glibc serialises it with allocation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
