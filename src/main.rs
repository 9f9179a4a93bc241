use clap::Parser;
use std::process::ExitCode;

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
