//! The use cases: one function per thing an admin (or the billing system) does, in one module
//! per area. Each takes the narrow dependencies it needs (`server::state`), returns a typed
//! outcome or an [`error::AppError`], and runs in a tracing span named after it. Server
//! functions (`crate::api`), the plain-form handlers and the signup intake (`server::http`) are
//! adapters over these: they read the request, call one function, and shape the answer.

pub mod accounts;
pub mod admins;
pub mod affiliate;
pub mod alerts;
pub mod audit;
pub mod connect;
pub mod contracts;
pub mod error;
pub mod mfa;
pub mod overview;
pub mod reversals;
pub mod signups;
pub mod tokens;
