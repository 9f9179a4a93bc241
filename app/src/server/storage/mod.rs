//! Everything that reads or writes the database.

pub mod admins;
pub mod affiliate_store;
pub mod alerts;
pub mod api_tokens;
pub mod audit_log;
pub mod contracts;
pub mod db;
pub mod intake_log;
pub mod login_throttle;
pub mod mfa;
pub mod overview;
pub mod reversals;
pub mod session_store;
pub mod signup_queries;
pub mod signups;
