//! affdesk's integration tests, one binary (`cargo test --test it`): each module is one area,
//! driven over HTTP against the real server on fresh databases (see `common`). One binary links
//! the server once instead of once per area; run one area with `cargo test --test it signups::`.
//!
//! The areas share one process: whatever is process-wide (the tracing subscriber behind
//! `common::LogCapture`, the route table read once by `affdesk::startup::routes`) must work with
//! every other area's tests running beside it.

#[macro_use]
mod common;

mod admins;
mod affiliate;
mod alerts;
mod assets;
mod audit;
mod auth;
mod cli;
mod connect;
mod contracts;
mod metrics;
mod mfa;
mod overview;
mod resilience;
mod reversals;
mod secrets;
mod security;
mod signups;
mod whmcs;
