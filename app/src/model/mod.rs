//! What travels between the server and the pages: the data each page shows, the forms they send
//! back, and the error server functions answer with. Compiled for the browser and the server, so
//! neither side has its own copy; the server's use cases (`crate::service`) build these, the
//! server functions (`crate::api`) carry them, and the pages (`crate::pages`) show them.

pub mod account;
pub mod admins;
pub mod affiliate;
pub mod alerts;
pub mod audit;
pub mod connect;
pub mod contracts;
pub mod error;
pub mod overview;
pub mod signups;
