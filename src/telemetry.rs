//! Logging: human-readable by default, JSON lines with `AFFDESK_LOG_FORMAT=json`.

use crate::args::{GlobalArgs, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init(global: &GlobalArgs) {
    let filter = EnvFilter::try_new(&global.log).unwrap_or_else(|err| {
        eprintln!(
            "affdesk: AFFDESK_LOG {:?} is not a valid filter ({err}); using \"info\"",
            global.log
        );
        EnvFilter::new("info")
    });
    let registry = tracing_subscriber::registry().with(filter);
    // Logs go to standard error; standard output carries only what a command prints for a person
    // (such as the first admin's one-time password), so the two can be routed apart.
    let ansi = std::io::stderr().is_terminal();
    let result = match global.log_format {
        LogFormat::Human => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(ansi)
                    .with_target(false),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
    };
    // A second init (tests start several servers in one process) keeps the first subscriber.
    let _ = result;
}
