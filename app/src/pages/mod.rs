pub mod account;
pub mod affiliate;
pub mod contracts;
pub mod dashboard;
pub mod login;
pub mod not_found;
pub mod signups;
pub mod tokens;
