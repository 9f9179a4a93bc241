//! Logging: human-readable by default, JSON lines with `AFFDESK_LOG_FORMAT=json`.

use crate::cli::{GlobalArgs, LogFormat};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init(global: &GlobalArgs) {
    let filter = EnvFilter::try_new(&global.log).unwrap_or_else(|err| {
        eprintln!("affdesk: AFFDESK_LOG {:?} is not a valid filter ({err}); using \"info\"", global.log);
        EnvFilter::new("info")
    });
    let registry = tracing_subscriber::registry().with(filter);
    let result = match global.log_format {
        LogFormat::Human => registry.with(fmt::layer().with_target(false)).try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true).with_current_span(true))
            .try_init(),
    };
    // A second init (tests start several servers in one process) keeps the first subscriber.
    let _ = result;
}
