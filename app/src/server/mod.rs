//! Server-only adapters (compiled with `ssr`), grouped by what they talk to:
//!
//! - `storage`: the database (sqlx repositories, the session store, the signup writer);
//! - `http`: axum plumbing (middleware guards, sessions, plain-form handlers, the signup intake);
//! - `remote`: outbound HTTP (the guarded client every tracker call goes through, Explodely);
//! - `security`: password hashing, sealing stored secrets, random tokens;
//! - `worker`: background work (the delivery worker);
//! - `metrics`: the Prometheus metrics and their listener's scrape.
//!
//! The use cases that combine these live in `crate::service`; nothing here calls into `api`.

pub mod clock;
pub mod http;
pub mod metrics;
pub mod remote;
pub mod security;
pub mod state;
pub mod storage;
pub mod worker;
