//! Server-only adapters: storage, password hashing, sessions, HTTP guards. Compiled with `ssr`.

pub mod admins;
pub mod affiliate_form;
pub mod affiliate_store;
pub mod api_tokens;
pub mod auth_http;
pub mod clock;
pub mod contract_form;
pub mod contracts;
pub mod db;
pub mod delivery;
pub mod explodely;
pub mod guard;
pub mod intake;
pub mod login_throttle;
pub mod outbound;
pub mod passwords;
pub mod posted_page;
pub mod secrets;
pub mod session;
pub mod session_store;
pub mod signup_queries;
pub mod signups;
pub mod state;
