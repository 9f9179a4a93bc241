//! The affdesk server: configuration, telemetry, start-up and the command line. Everything the
//! application does lives in the `app` crate; this crate only puts it together.

pub mod args;
pub mod backup;
pub mod cli;
pub mod config;
pub mod serve;
pub mod site;
mod site_walk;
pub mod startup;
pub mod telemetry;
