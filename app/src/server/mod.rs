//! Server-only adapters: storage, password hashing, sessions, HTTP guards. Compiled with `ssr`.

pub mod admins;
pub mod auth_http;
pub mod clock;
pub mod db;
pub mod guard;
pub mod login_throttle;
pub mod passwords;
pub mod session;
pub mod state;
